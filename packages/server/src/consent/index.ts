import type { JsonValue } from "@patron/ledger";
import { Channels } from "../channels/index.js";
import { Customers } from "../customers/customers.js";
import type { Domain } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";
import { consentCommands } from "./commands.js";
import { Consents } from "./consents.js";
import { CONSENT_ENTRY_TYPES, consentsProjector } from "./entries.js";
import { Issuer } from "./issuer.js";
import { Marketing } from "./marketing.js";
import { PartnerReads } from "./partner.js";
import { consentsOf, portalConsentRoutes } from "./portal.js";
import { ConsentRequests } from "./requests.js";
import { consentRoutes } from "./routes.js";
import { toView } from "./views.js";

/** How often lapses and auto-revocations are written (uses are refused at once regardless). */
export const SWEEP_INTERVAL_MS = 5_000;

/** Every consent entry names the customer and the merchant holding their data (decision 7). */
const customerAndMerchant = (e: { payload: unknown }): Party[] => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/**
 * Consent (issue 8; decisions 5, 10, 11): customers' consents to this merchant or a partner,
 * signed with their key or recorded by staff with evidence; the check every use on the consent
 * basis goes through; partner reads by consent id; receipts as verifiable credentials; lapses
 * and auto-revocations written by a sweep on the injected clock. Its entries are sealed: the
 * grantee is not a party, so a partner never sees the customer's id at the holder.
 */
export const consentDomain: Domain = {
  name: "consent",
  entryTypes: CONSENT_ENTRY_TYPES.map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: customerAndMerchant,
  })),
  projectors: [consentsProjector],
  start: (ctx) => {
    const customers = Customers.of(ctx.sequencer);
    if (!customers) throw new Error("the consent domain starts after the customers domain");
    const publicUrl = ctx.publicUrl ?? (() => "");
    const channels =
      ctx.channels ?? new Channels(ctx.db, ctx.vault, ctx.clock, { mailFrom: "patron@localhost" });
    const consents = new Consents(
      ctx.db,
      ctx.sequencer,
      ctx.vault,
      ctx.clock,
      customers,
      ctx.tenancy,
    );
    // From here on every route's DataUse.record checks consents for uses on the consent basis.
    ctx.dataUse.guardConsents(consents);
    const access = ctx.dataUse.access;
    const deps = {
      db: ctx.db,
      sequencer: ctx.sequencer,
      clock: ctx.clock,
      tenancy: ctx.tenancy,
      consents,
      requests: new ConsentRequests(
        ctx.db,
        ctx.sequencer,
        ctx.vault,
        ctx.clock,
        customers,
        consents,
        channels,
        publicUrl,
      ),
      marketing: new Marketing(consents, customers, ctx.vault, channels, access, publicUrl),
      partners: new PartnerReads(ctx.db, ctx.vault, ctx.clock, consents, customers, access),
      issuer: new Issuer(ctx.db, ctx.vault, ctx.clock, publicUrl),
    };
    // The customer's export (Art. 15/20) lists their consents, evidence commitments included.
    ctx.exports.add("consents", async (merchantId, records) => {
      const now = ctx.clock.now();
      const rows = await consentsOf(ctx.db, merchantId, records);
      return rows.map((r) => toView(r, now)) as unknown as JsonValue;
    });
    return {
      commands: consentCommands(consents),
      routes: (app) => {
        consentRoutes(app, deps);
        portalConsentRoutes(app, { ...deps, purposes: ctx.dataUse.purposes });
        // The sweep runs while the node serves, like the access log's group commit; one at a time.
        let timer: NodeJS.Timeout | undefined;
        let running: Promise<unknown> | undefined;
        app.addHook("onReady", async () => {
          timer = setInterval(() => {
            running ??= consents
              .sweep()
              .catch(() => {
                // Left for the next tick (the database was busy or the node is stopping).
              })
              .finally(() => {
                running = undefined;
              });
          }, SWEEP_INTERVAL_MS);
          timer.unref();
        });
        app.addHook("onClose", async () => {
          if (timer) clearInterval(timer);
          await running;
        });
      },
    };
  },
};

export { Consents } from "./consents.js";
