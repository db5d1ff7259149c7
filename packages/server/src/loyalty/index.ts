import type { JsonValue } from "@patron/ledger";
import { Customers } from "../customers/customers.js";
import type { Domain } from "../domain.js";
import { loyaltyAuditor } from "./audit.js";
import { loyaltyEntryTypes } from "./entries.js";
import { Orders } from "./orders.js";
import { customerPoints } from "./points.js";
import { loyaltyPortalRoutes } from "./portal.js";
import { Programmes } from "./programmes.js";
import { loyaltyProjectors } from "./projections.js";
import { Refunds } from "./refunds.js";
import { loyaltyRoutes } from "./routes.js";
import { Rules } from "./rules.js";
import { Simulator } from "./simulate.js";
import { LoyaltyState } from "./state.js";

/**
 * Loyalty (issue 9): the programme, earning rules published on the ledger and simulated before
 * publishing, and orders that earn points by the rules in force when they are recorded, each
 * award naming its rule version and recording its inputs so anyone can recompute it
 * (decision 8). Points are lots, pending for the return window, then available. Refunds
 * recompute an order's awards over what is left of it and reverse the difference, the points
 * already spent becoming a debt later earnings repay (or written off, by the programme).
 */
export const loyaltyDomain: Domain = {
  name: "loyalty",
  entryTypes: loyaltyEntryTypes,
  projectors: loyaltyProjectors,
  audit: loyaltyAuditor,
  start: (ctx) => {
    const customers = Customers.of(ctx.sequencer);
    if (!customers) throw new Error("the loyalty domain starts after the customers domain");
    const state = new LoyaltyState(ctx.db, ctx.sequencer, ctx.clock);
    const programmes = new Programmes(ctx.sequencer, state);
    const rules = new Rules(ctx.db, ctx.sequencer, ctx.clock, state);
    const orders = new Orders(ctx.db, ctx.sequencer, ctx.clock, customers, state);
    const refunds = new Refunds(ctx.db, ctx.sequencer, customers, state);
    const simulator = new Simulator(ctx.db, ctx.clock, state, rules);
    // The customer's export (Art. 15/20) holds their points and lots.
    ctx.exports.add("loyalty", async (merchantId, records) => {
      const { programme } = await programmes.get(merchantId);
      const out = [];
      for (const id of records) {
        out.push(
          await customerPoints(ctx.db, merchantId, id, ctx.clock.now(), {
            pointName: programme.pointName,
            limit: 10_000,
          }),
        );
      }
      return out as unknown as JsonValue;
    });
    return {
      routes: (app) => {
        loyaltyPortalRoutes(app, {
          db: ctx.db,
          clock: ctx.clock,
          sequencer: ctx.sequencer,
          proofs: ctx.proofs,
          tenancy: ctx.tenancy,
          programmes,
          rules,
        });
        loyaltyRoutes(app, {
          db: ctx.db,
          clock: ctx.clock,
          customers,
          programmes,
          rules,
          orders,
          refunds,
          simulator,
          dataUse: ctx.dataUse,
        });
      },
    };
  },
};
