import type { Domain } from "../domain.js";
import { Customers } from "./customers.js";
import { INTERACTION_RECORDED, Interactions, interactionsProjector } from "./interactions.js";
import {
  CUSTOMER_CREATED,
  CUSTOMER_ERASED,
  CUSTOMER_UPDATED,
  customersProjector,
} from "./projection.js";
import { customerRoutes } from "./routes.js";

const customerAndMerchant = (e: { payload: unknown }) => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/**
 * Customers: one private profile per person across every channel (decision 4). Every entry is
 * sealed and names the customer and the merchant, so it is on both their chains (decision 7).
 */
export const customersDomain: Domain = {
  name: "customers",
  entryTypes: [CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_ERASED, INTERACTION_RECORDED].map(
    (type) => ({
      type,
      sealing: "sealed" as const,
      parties: customerAndMerchant,
    }),
  ),
  projectors: [customersProjector, interactionsProjector],
  start: ({ db, sequencer, vault, clock, defaultCountry }) => {
    const customers = new Customers(db, sequencer, vault, clock, { defaultCountry });
    const interactions = new Interactions(sequencer, vault, customers);
    return { routes: (app) => customerRoutes(app, { customers, interactions, vault, db }) };
  },
};

export { Customers } from "./customers.js";
