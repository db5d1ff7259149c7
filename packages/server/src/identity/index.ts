import { Customers } from "../customers/customers.js";
import type { Domain, DomainContext } from "../domain.js";
import { useCustomerSessions } from "../http/app.js";
import { SYSTEM_ACTOR } from "../tenancy/tenancy.js";
import { identityCommands } from "./commands.js";
import { identityEntryTypes, recoveriesProjector } from "./entries.js";
import { Invites } from "./invites.js";
import { CustomerKeys } from "./keys.js";
import { CustomerData, portalRoutes } from "./portal.js";
import { Recoveries } from "./recovery.js";
import { identityRoutes } from "./routes.js";
import { Sessions } from "./sessions.js";

/** What node.ts passes the identity domain beside the shared context. */
export interface IdentitySettings {
  /** Where the portal is served: invite and join links point there. */
  portalUrl?: () => string;
  /** A recovery's time-lock (72 h by default). */
  recoveryHours?: number;
  /** How often due recoveries are completed (every minute by default). */
  sweepMs?: number;
  log?: (line: string) => void;
}

/**
 * Customers' own keys (decisions 5, 13): joining with a key, claiming an existing profile by
 * invite, rotating, recovering a lost key through staff under a time-lock, and signing in to
 * the portal. A key is bound to one customer at one merchant; `actor_bindings` holds it.
 */
export const identityDomain: Domain = {
  name: "identity",
  entryTypes: identityEntryTypes,
  projectors: [recoveriesProjector],
  start: (context) => {
    const ctx = context as DomainContext & { identity?: IdentitySettings };
    const settings = ctx.identity ?? {};
    const customers = () => {
      const c = Customers.of(ctx.sequencer);
      if (!c) throw new Error("the identity domain needs the customers domain");
      return c;
    };
    const keys = new CustomerKeys(ctx.db, ctx.sequencer);
    const invites = new Invites(ctx.db, ctx.sequencer, ctx.vault, ctx.clock);
    const recoveries = new Recoveries({
      db: ctx.db,
      sequencer: ctx.sequencer,
      clock: ctx.clock,
      bindings: ctx.bindings,
      keys,
      customers,
      channels: ctx.channels,
      timeLockHours: settings.recoveryHours,
      log: settings.log,
    });
    const sessions = new Sessions(
      ctx.db,
      ctx.clock,
      ctx.bindings,
      ctx.signatures,
      (m, c) => customers().isActive(m, c),
      (m, c) => customers().mergedInto(m, c),
    );
    const data = new CustomerData({
      db: ctx.db,
      sequencer: ctx.sequencer,
      proofs: ctx.proofs,
      vault: ctx.vault,
      customers: customers(),
      tenancy: ctx.tenancy,
      exports: ctx.exports,
      verifierKey: ctx.verifierKey,
      access: ctx.dataUse.access,
      purposes: ctx.dataUse.purposes,
    });
    CustomerData.instances.set(ctx.sequencer, data);
    return {
      commands: identityCommands({
        sequencer: ctx.sequencer,
        bindings: ctx.bindings,
        keys,
        invites,
        recoveries,
        signatures: ctx.signatures,
        clock: ctx.clock,
      }),
      routes: (app) => {
        useCustomerSessions(app, (token) => sessions.authenticate(token));
        identityRoutes(app, {
          customers: customers(),
          keys,
          invites,
          recoveries,
          sessions,
          tenancy: ctx.tenancy,
          portalUrl: settings.portalUrl ?? (() => ctx.publicUrl?.() ?? ""),
        });
        portalRoutes(app, data);
      },
      start: () => recoveries.startSweeping(SYSTEM_ACTOR, settings.sweepMs),
      stop: () => recoveries.stopSweeping(),
    };
  },
};
