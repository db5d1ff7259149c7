import type { JsonValue } from "@patron/ledger";
import { Customers } from "../customers/customers.js";
import type { Domain, DomainContext } from "../domain.js";
import { SYSTEM_ACTOR } from "../tenancy/tenancy.js";
import { adjustmentEntryTypes } from "./adjustment-entries.js";
import { Adjustments } from "./adjustments.js";
import { loyaltyAuditor } from "./audit.js";
import { Catalogue } from "./catalogue.js";
import { loyaltyEntryTypes } from "./entries.js";
import { Expiry } from "./expiry.js";
import { moveRoutes } from "./moves-routes.js";
import { Orders } from "./orders.js";
import { customerPoints } from "./points.js";
import { loyaltyPortalRoutes } from "./portal.js";
import { Programmes } from "./programmes.js";
import { loyaltyProjectors } from "./projections.js";
import { redemptionEntryTypes } from "./redemption-entries.js";
import { redemptionsProjector } from "./redemption-projections.js";
import { redemptionRoutes } from "./redemption-routes.js";
import { RedemptionState } from "./redemption-state.js";
import { Redemptions, redemptionCommands } from "./redemptions.js";
import { Refunds } from "./refunds.js";
import { loyaltyRoutes } from "./routes.js";
import { Rules } from "./rules.js";
import { Simulator } from "./simulate.js";
import { LoyaltyState, type ReleaseLapsed } from "./state.js";
import { LOYALTY_SWEEP_MS, LoyaltySweeper } from "./sweeper.js";
import { Tiers, tierView } from "./tiers.js";
import { transferEntryTypes } from "./transfer-entries.js";
import { Transfers } from "./transfers.js";

export { LOYALTY_SWEEP_MS } from "./sweeper.js";

export interface LoyaltySettings {
  /**
   * The sweep's interval in ms (PATRON_LOYALTY_SWEEP_MS): lapsed holds, expired points and tier
   * downgrades are written on it; what is due is read from the clock.
   */
  sweepMs?: number;
  log?: (line: string) => void;
}

/**
 * Loyalty (issue 9): the programme, earning rules published on the ledger and simulated before
 * publishing, and orders that earn points by the rules in force when they are recorded, each
 * award naming its rule version and recording its inputs so anyone can recompute it
 * (decision 8). Points are lots, pending for the return window, then available. Refunds
 * recompute an order's awards over what is left of it and reverse the difference, the points
 * already spent becoming a debt later earnings repay (or written off, by the programme).
 * Customers send each other points by signed `points.transfer` commands (transfers.ts); staff
 * credit or debit points with a reason, a second staff member approving large ones
 * (adjustments.ts).
 */
export const loyaltyDomain: Domain = {
  name: "loyalty",
  entryTypes: [
    ...loyaltyEntryTypes,
    ...redemptionEntryTypes,
    ...transferEntryTypes,
    ...adjustmentEntryTypes,
  ],
  // Its rows and stock; holds' and releases' lot changes are the orders projector's.
  projectors: [...loyaltyProjectors, redemptionsProjector],
  audit: loyaltyAuditor,
  start: (context) => {
    const ctx = context as DomainContext & { loyalty?: LoyaltySettings };
    const settings = ctx.loyalty ?? {};
    const customers = Customers.of(ctx.sequencer);
    if (!customers) throw new Error("the loyalty domain starts after the customers domain");
    const state = new LoyaltyState(ctx.db, ctx.sequencer, ctx.clock);
    const programmes = new Programmes(ctx.sequencer, state);
    const rules = new Rules(ctx.db, ctx.sequencer, ctx.clock, state);
    const tiers = new Tiers(ctx.db, ctx.sequencer, ctx.clock, state);
    const expiry = new Expiry(ctx.db, ctx.sequencer, ctx.clock, state);
    const orders = new Orders(ctx.db, ctx.sequencer, ctx.clock, customers, state);
    const simulator = new Simulator(ctx.db, ctx.clock, state, rules);
    const redemptionState = new RedemptionState(ctx.db, ctx.sequencer);
    const catalogue = new Catalogue(ctx.db, ctx.sequencer, redemptionState);
    const redemptions = new Redemptions(
      ctx.db,
      ctx.sequencer,
      ctx.clock,
      customers,
      state,
      redemptionState,
    );
    // Refunds, transfers, debits and the sweep release lapsed holds first, as holds do.
    const releaseLapsed: ReleaseLapsed = (merchantId, customerId) =>
      redemptions.sweep(merchantId, customerId);
    const refunds = new Refunds(ctx.db, ctx.sequencer, customers, state, releaseLapsed);
    // Points that move between customers or by staff: the same dependencies.
    const moves = [ctx.db, ctx.sequencer, customers, ctx.vault, state, releaseLapsed] as const;
    const transfers = new Transfers(...moves);
    const adjustments = new Adjustments(...moves);
    const sweeper = new LoyaltySweeper(releaseLapsed, expiry, tiers);
    // The customer's export (Art. 15/20) holds their points and lots.
    ctx.exports.add("loyalty", async (merchantId, records) => {
      const { programme } = await programmes.get(merchantId);
      const out = [];
      for (const id of records) {
        const now = ctx.clock.now();
        out.push(
          await customerPoints(ctx.db, merchantId, id, now, {
            pointName: programme.pointName,
            limit: 10_000,
            tier: await tierView(ctx.db, merchantId, id, programme, now),
          }),
        );
      }
      return out as unknown as JsonValue;
    });
    // And their redemptions: the holds, captures and releases of their points.
    ctx.exports.add(
      "redemptions",
      async (merchantId, records) =>
        (await redemptions.list(merchantId, records, 10_000)) as unknown as JsonValue,
    );
    return {
      commands: [...redemptionCommands(redemptions), transfers.handler()],
      // Lapsed holds, expired points and tier downgrades on one timer (sweeper.ts); what is due
      // is decided on the injected clock.
      start: () => sweeper.start(SYSTEM_ACTOR, settings.sweepMs ?? LOYALTY_SWEEP_MS, settings.log),
      stop: () => sweeper.stop(),
      routes: (app) => {
        redemptionRoutes(app, { customers, catalogue, redemptions, dataUse: ctx.dataUse });
        moveRoutes(app, { customers, transfers, adjustments, dataUse: ctx.dataUse });
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
          sweeper,
          dataUse: ctx.dataUse,
        });
      },
    };
  },
};
