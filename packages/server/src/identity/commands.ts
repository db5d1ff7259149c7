import type { Command, JsonValue } from "@patron/ledger";
import { z } from "zod";
import type { Bindings } from "../commands/bindings.js";
import { commandPayload } from "../commands/payload.js";
import type { SignatureChecker } from "../commands/verify.js";
import { Customers } from "../customers/customers.js";
import { CustomerInput } from "../customers/profile.js";
import type { CommandHandler } from "../domain.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { CommandDraft, EntryDraft, Sequencer } from "../ledger/sequencer.js";
import { Throttle } from "../staff/throttle.js";
import {
  KEY_BOUND,
  KEY_RETIRED,
  type KeyBoundPayload,
  type KeyRetiredPayload,
  RECOVERY_VETOED,
} from "./entries.js";
import { INVITE_CODE, type Invites } from "./invites.js";
import type { CustomerKeys } from "./keys.js";
import type { Recoveries } from "./recovery.js";

/** What a customer fills in when they join: their own contact details, nothing of the merchant's. */
export const JoinValues = CustomerInput.pick({
  name: true,
  email: true,
  phone: true,
  birthday: true,
  address: true,
  language: true,
});

const ClaimPayload = z.strictObject({
  code: z.string().regex(INVITE_CODE, "must be an invite code such as K7QM-2XPD-9RTA"),
});
const RotatePayload = z.strictObject({
  accept: z.unknown().describe("the new key's signed key.accept command"),
});
const VetoPayload = z.strictObject({ recovery: z.string().regex(/^rec_[A-Za-z0-9_-]{1,64}$/) });

const payloadOf = <T>(schema: z.ZodType<T>, command: Command): T =>
  commandPayload(schema, command.payload);

export interface IdentityCommandDeps {
  sequencer: Sequencer;
  bindings: Bindings;
  keys: CustomerKeys;
  invites: Invites;
  recoveries: Recoveries;
  signatures: SignatureChecker;
  clock: Clock;
}

/**
 * The signed commands that give a customer a key, and that the key signs about itself:
 * `customer.join` (a new profile), `customer.claim` (an existing one, by invite code),
 * `key.rotate` (to a new key, signed by the old one) and `key.veto` (stop a recovery).
 */
export function identityCommands(d: IdentityCommandDeps): CommandHandler[] {
  const customers = () => {
    const c = Customers.of(d.sequencer);
    if (!c) throw new Error("the identity domain needs the customers domain");
    return c;
  };
  // Guessing codes: a few tries per key, and a bound per merchant on all keys together.
  const perKey = new Throttle(d.clock, 5, 60_000);
  const perMerchant = new Throttle(d.clock, 300, 1_000);

  const bound = (
    command: Command,
    customerId: string,
    via: KeyBoundPayload["via"],
    extra: Partial<KeyBoundPayload> = {},
  ): EntryDraft => ({
    type: KEY_BOUND,
    actor: command.actor,
    parties: [{ customer: customerId }, { merchant: command.merchant }],
    sealed: true,
    payload: {
      merchantId: command.merchant,
      customerId,
      key: command.actor,
      via,
      ...extra,
    } as unknown as JsonValue,
  });

  /** The customer may have no key yet; staged, in the command's order. */
  const checkNoKey = async (merchantId: string, customerId: string) => {
    const current = await d.keys.active(merchantId, customerId, true);
    if (current) {
      throw new ApiError(
        409,
        "already_claimed",
        "this profile already has a key; a lost key is replaced by recovery through the merchant",
      );
    }
  };

  const join: CommandHandler = {
    type: "customer.join",
    signer: "customer",
    createsBinding: true,
    async handle({ command, binding, attached }) {
      if (binding) {
        throw new ApiError(409, "already_joined", "this key already has a profile here");
      }
      const values = JoinValues.safeParse(attached ?? {});
      if (!values.success) {
        const issue = values.error.issues[0];
        throw new ApiError(
          400,
          "invalid_request",
          `attached.values.${issue?.path.join(".")}: ${issue?.message}`,
        );
      }
      const made = await customers().createDraft(command.merchant, command.actor, values.data);
      const draft: CommandDraft = {
        ...made.draft,
        entries: [...made.draft.entries, bound(command, made.id, "join")],
        check: async (ctx) => {
          try {
            await made.draft.check?.(ctx);
          } catch (err) {
            // Whose record holds it is not the joining stranger's to learn.
            if (err instanceof ApiError && err.code === "identity_in_use") {
              throw new ApiError(
                409,
                "identity_in_use",
                "a customer here already has this email or phone: ask the merchant for an invite to claim that profile",
              );
            }
            throw err;
          }
          d.keys.stage(command.merchant, made.id, command.actor);
        },
      };
      return draft;
    },
  };

  const claim: CommandHandler = {
    type: "customer.claim",
    signer: "customer",
    createsBinding: true,
    async handle({ command, binding }) {
      if (binding) {
        throw new ApiError(409, "already_joined", "this key already has a profile here");
      }
      const { code } = payloadOf(ClaimPayload, command);
      const wait = Math.max(
        perKey.take(`${command.merchant}\u0000${command.actor}`),
        perMerchant.take(command.merchant),
      );
      if (wait > 0) {
        throw new ApiError(
          429,
          "too_many_attempts",
          `too many invite codes tried; try again in ${Math.ceil(wait / 1000)} s`,
          undefined,
          { "retry-after": String(Math.ceil(wait / 1000)) },
        );
      }
      const invite = await d.invites.open(command.merchant, code);
      const customerId = invite.customer_id;
      const status = await customers().status(command.merchant, customerId);
      if (status !== "active") {
        throw new ApiError(
          410,
          "profile_gone",
          "the profile this invite was for is no longer active",
        );
      }
      return {
        entries: [bound(command, customerId, "claim", { inviteId: invite.id })],
        check: async () => {
          customers().checkActive(customerId);
          await checkNoKey(command.merchant, customerId);
          d.invites.stageClaim(invite.id);
          d.keys.stage(command.merchant, customerId, command.actor);
        },
        writes: (es) => {
          const e = es[0];
          return e ? [d.invites.claimedStatement(command.merchant, invite.id, e.index)] : [];
        },
      };
    },
  };

  const rotate: CommandHandler = {
    type: "key.rotate",
    signer: "customer",
    async handle({ command, binding }) {
      const customerId = binding?.party ?? "";
      const { accept } = payloadOf(RotatePayload, command);
      // The new key proves it is held: it signs key.accept naming the old key, for this ledger
      // and merchant, like any command.
      const inner = d.signatures.check(accept).command;
      if (inner.type !== "key.accept" || inner.merchant !== command.merchant) {
        throw new ApiError(
          400,
          "invalid_payload",
          "payload.accept must be a key.accept command for the same merchant",
        );
      }
      const from = (inner.payload as { from?: unknown } | null)?.from;
      if (from !== command.actor) {
        throw new ApiError(
          400,
          "invalid_payload",
          "payload.accept.command.payload.from must be the key that signs the rotation",
        );
      }
      const next = inner.actor;
      if (next === command.actor) {
        throw new ApiError(400, "invalid_payload", "the new key is the old one");
      }
      const retired: KeyRetiredPayload = {
        merchantId: command.merchant,
        customerId,
        key: command.actor,
        status: "rotated",
        via: "rotation",
      };
      const parties = [{ customer: customerId }, { merchant: command.merchant }];
      return {
        entries: [
          {
            type: KEY_RETIRED,
            actor: command.actor,
            parties,
            sealed: true,
            payload: retired as unknown as JsonValue,
          },
          {
            type: KEY_BOUND,
            actor: command.actor,
            parties,
            sealed: true,
            payload: {
              merchantId: command.merchant,
              customerId,
              key: next,
              via: "rotation",
            } satisfies KeyBoundPayload as unknown as JsonValue,
          },
        ],
        check: async () => {
          if (await d.bindings.get(command.merchant, next, true)) {
            throw new ApiError(409, "key_in_use", "the new key is already known here");
          }
          // A recovery would replace the key it rotates to: the customer vetoes it first.
          const pending = await d.recoveries.pendingOf(command.merchant, customerId, true);
          if (pending) {
            throw new ApiError(
              409,
              "recovery_pending",
              `recovery ${pending} is under way for this profile: veto it (key.veto) before rotating`,
              { recovery: pending },
            );
          }
          d.keys.stage(command.merchant, customerId, next);
        },
      };
    },
  };

  const veto: CommandHandler = {
    type: "key.veto",
    signer: "customer",
    async handle({ command, binding }) {
      const customerId = binding?.party ?? "";
      const { recovery } = payloadOf(VetoPayload, command);
      const r = await d.recoveries.get(command.merchant, recovery);
      if (!r || r.customerId !== customerId) {
        throw new ApiError(404, "not_found", `no recovery ${recovery} of this customer`);
      }
      return {
        entries: [
          {
            type: RECOVERY_VETOED,
            actor: command.actor,
            parties: [{ customer: customerId }, { merchant: command.merchant }],
            sealed: true,
            payload: { merchantId: command.merchant, customerId, recoveryId: recovery },
          },
        ],
        check: () => d.recoveries.stageEnd(command.merchant, customerId, recovery),
      };
    },
  };

  return [join, claim, rotate, veto];
}
