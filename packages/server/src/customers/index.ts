import { Channels } from "../channels/index.js";
import type { Domain } from "../domain.js";
import { Customers } from "./customers.js";
import { INTERACTION_RECORDED, Interactions, interactionsProjector } from "./interactions.js";
import { Merges } from "./merge.js";
import { mergeRoutes } from "./merge-routes.js";
import { NOTE_ADDED, NOTE_DELETED, Notes, notesProjector } from "./notes.js";
import { noteRoutes } from "./notes-routes.js";
import {
  CUSTOMER_CREATED,
  CUSTOMER_ERASED,
  CUSTOMER_MERGED,
  CUSTOMER_UNMERGED,
  CUSTOMER_UPDATED,
  customersProjector,
} from "./projection.js";
import { customerRoutes } from "./routes.js";
import { profileCommands } from "./signed.js";
import { verificationRoutes } from "./verification-routes.js";
import { IDENTIFIER_VERIFIED, Verifications } from "./verifications.js";

const customerAndMerchant = (e: { payload: unknown }) => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/** A merge or unmerge names the survivor, the other record and the merchant (decision 7). */
const bothRecords = (e: { payload: unknown }) => {
  const p = e.payload as {
    customerId?: unknown;
    merchantId?: unknown;
    mergedId?: unknown;
    restoredId?: unknown;
  };
  const other = p?.mergedId ?? p?.restoredId;
  return typeof p?.customerId === "string" &&
    typeof other === "string" &&
    typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { customer: other }, { merchant: p.merchantId }]
    : [];
};

/**
 * Customers: one private profile per person across every channel (decision 4). Every entry is
 * sealed and names the customer and the merchant, so it is on both their chains (decision 7).
 */
export const customersDomain: Domain = {
  name: "customers",
  entryTypes: [
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    CUSTOMER_ERASED,
    INTERACTION_RECORDED,
    IDENTIFIER_VERIFIED,
    NOTE_ADDED,
    NOTE_DELETED,
  ]
    .map((type) => ({
      type,
      sealing: "sealed" as const,
      parties: customerAndMerchant,
    }))
    .concat(
      [CUSTOMER_MERGED, CUSTOMER_UNMERGED].map((type) => ({
        type,
        sealing: "sealed" as const,
        parties: bothRecords,
      })),
    ),
  projectors: [customersProjector, interactionsProjector, notesProjector],
  start: ({ db, sequencer, vault, clock, defaultCountry, dataUse, channels, publicUrl }) => {
    const customers = new Customers(db, sequencer, vault, clock, { defaultCountry });
    const interactions = new Interactions(sequencer, vault, customers, clock);
    const notes = new Notes(db, sequencer, vault, customers);
    const merges = new Merges(sequencer, vault, customers);
    const verifications = new Verifications(
      db,
      sequencer,
      vault,
      clock,
      customers,
      merges,
      channels ?? new Channels(db, vault, clock, { mailFrom: "patron@localhost" }),
      { defaultCountry, publicUrl: publicUrl ?? (() => "") },
    );
    return {
      commands: profileCommands(customers),
      routes: (app) => {
        customerRoutes(app, { customers, interactions, vault, db, dataUse });
        noteRoutes(app, { notes, dataUse });
        mergeRoutes(app, { customers, merges, dataUse });
        verificationRoutes(app, { verifications });
      },
    };
  },
};

export { Customers } from "./customers.js";
