import { commandPayload, signingCustomer } from "../commands/payload.js";
import type { ActorBinding, CommandHandler } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";
import type { Consents } from "./consents.js";
import { SIGNED } from "./entries.js";
import { GrantPayload, NarrowPayload, RevokePayload } from "./schemas.js";

const signingCustomerOf = (binding: ActorBinding | undefined) =>
  signingCustomer(binding?.party, "only a customer's key signs consent");

const ms = (s: string | undefined) => (s === undefined ? undefined : Date.parse(s));

/**
 * `consent.grant`, `consent.narrow` and `consent.revoke`, signed with the customer's key at the
 * merchant that holds their data (decision 5). The entry keeps the signed command: it is the
 * consent's evidence.
 */
export function consentCommands(consents: Consents): CommandHandler[] {
  return [
    {
      type: "consent.grant",
      signer: "customer",
      async handle({ command, binding }) {
        const customerId = signingCustomerOf(binding);
        const p = commandPayload(GrantPayload, command.payload);
        const terms = {
          grantee: p.grantee,
          purposes: p.purposes,
          categories: p.categories,
          validFrom: ms(p.validFrom),
          validUntil: Date.parse(p.validUntil),
          revokeOn: p.revokeOn ?? [],
        };
        await consents.checkCustomer(command.merchant, customerId);
        await consents.checkTerms(terms);
        const { draft } = await consents.grant({
          merchantId: command.merchant,
          customerId,
          actor: command.actor,
          terms,
          method: SIGNED,
        });
        return draft;
      },
    },
    {
      type: "consent.narrow",
      signer: "customer",
      handle({ command, binding }) {
        const customerId = signingCustomerOf(binding);
        const p = commandPayload(NarrowPayload, command.payload);
        const draft = consents.narrow({
          merchantId: command.merchant,
          customerId,
          consentId: p.consentId,
          actor: command.actor,
          change: {
            purposes: p.purposes,
            categories: p.categories,
            validUntil: ms(p.validUntil),
          },
          reason: "customer",
        });
        return withParties(draft, customerId, command.merchant);
      },
    },
    {
      type: "consent.revoke",
      signer: "customer",
      handle({ command, binding }) {
        const customerId = signingCustomerOf(binding);
        const p = commandPayload(RevokePayload, command.payload);
        const draft = consents.end({
          merchantId: command.merchant,
          customerId,
          consentId: p.consentId,
          actor: command.actor,
          reason: "customer",
        });
        return withParties(draft, customerId, command.merchant);
      },
    },
  ];
}

/** The signer's own customer and merchant: the check refuses a consent that is not theirs. */
function withParties<D extends { entries: { parties?: Party[] }[] }>(
  draft: D,
  customer: string,
  merchant: string,
): D {
  for (const e of draft.entries) e.parties = [{ customer }, { merchant }];
  return draft;
}
