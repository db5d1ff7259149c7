import { z } from "zod";
import { Customers } from "../customers/customers.js";
import type { CommandHandler, Domain, DomainContext } from "../domain.js";
import { ApiError } from "../http/errors.js";
import { CustomerData } from "../identity/portal.js";
import { SYSTEM_ACTOR } from "../tenancy/tenancy.js";
import {
  policiesProjector,
  REQUEST_KINDS,
  requestsProjector,
  rightsEntryTypes,
} from "./entries.js";
import { SubjectRequests } from "./requests.js";
import { Retention } from "./retention.js";
import { rightsRoutes } from "./routes.js";

const SubmitPayload = z.strictObject({ kind: z.enum(REQUEST_KINDS) });

/** What node.ts passes the rights domain beside the shared context. */
export interface RightsSettings {
  /** How often ended retention holds are shredded (hourly by default). */
  sweepMs?: number;
  log?: (line: string) => void;
}

/**
 * Data-subject rights (GDPR Art. 15-17, 20): the request queue with its legal deadlines, and
 * retention holds, which keep what the law requires after an erasure under a key of their own
 * until they end.
 */
export const rightsDomain: Domain = {
  name: "rights",
  entryTypes: rightsEntryTypes,
  projectors: [policiesProjector, requestsProjector],
  start: (context) => {
    const ctx = context as DomainContext & { rights?: RightsSettings };
    const settings = ctx.rights ?? {};
    const customers = () => {
      const c = Customers.of(ctx.sequencer);
      if (!c) throw new Error("the rights domain needs the customers domain");
      return c;
    };
    const retention = new Retention(ctx.db, ctx.sequencer, ctx.vault, ctx.clock);
    customers().retention = (merchantId, ids) => retention.plan(merchantId, ids);
    const requests = new SubjectRequests(ctx.db, ctx.sequencer, ctx.clock, customers, () =>
      CustomerData.instances.get(ctx.sequencer),
    );
    // An erased customer's open requests close with the erasure.
    customers().closing = (merchantId, ids, except, actor) =>
      requests.closingOnErasure(merchantId, ids, except, actor);
    const submit: CommandHandler = {
      type: "request.submit",
      signer: "customer",
      async handle({ command, binding }) {
        const parsed = SubmitPayload.safeParse(command.payload);
        if (!parsed.success) {
          throw new ApiError(
            400,
            "invalid_payload",
            `payload.kind: must be one of ${REQUEST_KINDS.join(", ")}`,
          );
        }
        // The customer's own signature is the identity check.
        const made = await requests.receiveDraft(
          command.merchant,
          binding?.party ?? "",
          { kind: parsed.data.kind, channel: "portal", checks: ["key_signature"] },
          command.actor,
        );
        return made.draft;
      },
    };
    let timer: NodeJS.Timeout | undefined;
    let sweeping: Promise<unknown> | undefined;
    return {
      commands: [submit],
      routes: (app) => rightsRoutes(app, { requests, retention, dataUse: ctx.dataUse }),
      start: () => {
        timer = setInterval(() => {
          sweeping ??= retention
            .sweep(SYSTEM_ACTOR)
            .catch((err) => settings.log?.(`Retention sweep failed: ${err}`))
            .finally(() => {
              sweeping = undefined;
            });
        }, settings.sweepMs ?? 3_600_000);
        timer.unref();
      },
      stop: async () => {
        clearInterval(timer);
        await sweeping;
      },
    };
  },
};
