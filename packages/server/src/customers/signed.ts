import type { CommandHandler } from "../domain.js";
import { ApiError } from "../http/errors.js";
import type { CommandDraft, CommittedEntry } from "../ledger/sequencer.js";
import type { Customers, Execute } from "./customers.js";
import { CustomerPatch } from "./profile.js";

/** What a customer may rectify themselves (Art. 16): their own details, not the merchant's facts. */
export const Rectification = CustomerPatch.pick({
  name: true,
  emails: true,
  phones: true,
  birthday: true,
  address: true,
  language: true,
});

const refuseFields = (payload: unknown) => {
  const p = payload as Record<string, unknown> | null;
  const extra = p && typeof p === "object" ? Object.keys(p).filter((k) => k !== "attached") : [];
  if (extra.length > 0) {
    throw new ApiError(400, "invalid_payload", `payload.${extra[0]}: not expected`);
  }
};

/** Keeps what a run committed, for the route's answer. */
function capturing(execute: Execute) {
  const out = {
    committed: [] as CommittedEntry[],
    execute: async (d: CommandDraft) => {
      out.committed = await execute(d);
      return out.committed;
    },
  };
  return out;
}

/**
 * The customer's own signed commands about their profile: `customer.update` rectifies it, the
 * new values beside the command (decision 5); `customer.erase` erases it (Art. 17). Both run in
 * the customer's lock, as staff changes do, so each is computed from the state the last left.
 */
export function profileCommands(customers: Customers): CommandHandler[] {
  return [
    {
      type: "customer.update",
      signer: "customer",
      async run({ command, binding, attached }, execute) {
        refuseFields(command.payload);
        const capture = capturing(execute);
        if (!attached) {
          throw new ApiError(
            400,
            "attachment_missing",
            "a rectification carries its new values beside the command (attached)",
          );
        }
        const patch = Rectification.safeParse(attached);
        if (!patch.success) {
          const issue = patch.error.issues[0];
          throw new ApiError(
            400,
            "invalid_request",
            `attached.values.${issue?.path.join(".")}: ${issue?.message}`,
          );
        }
        const r = await customers.update(
          command.merchant,
          binding?.party ?? "",
          command.actor,
          patch.data,
          capture.execute,
        );
        if (!r.changed) {
          throw new ApiError(409, "no_change", "these values are the profile's already");
        }
        return capture.committed;
      },
    },
    {
      type: "customer.erase",
      signer: "customer",
      async run({ command, binding }, execute) {
        const p = command.payload as Record<string, unknown> | null;
        if (!p || typeof p !== "object" || Array.isArray(p) || Object.keys(p).length > 0) {
          throw new ApiError(400, "invalid_payload", "payload must be {}");
        }
        const capture = capturing(execute);
        await customers.erase(
          command.merchant,
          binding?.party ?? "",
          command.actor,
          "request",
          capture.execute,
        );
        return capture.committed;
      },
    },
  ];
}
