import type { Entry, JsonValue } from "@patron/ledger";
import type { Domain } from "../domain.js";
import { ApiError } from "../http/errors.js";
import type { Party } from "../ledger/sequencer.js";

/**
 * A domain of the tests' own, until the identity issue brings the first real command types:
 * `test.bind` binds the signing key to a new customer (like join), `test.note` writes one
 * sealed entry on the customer's and the merchant's chains, `test.triple` writes three (the
 * second refused when `payload.fail` is true), and `test.attest` may only be signed by a
 * merchant's key.
 */
export const testDomain: Domain = {
  name: "test",
  entryTypes: [
    {
      type: "test.bound",
      sealing: "sealed",
      parties: partiesOf,
      binding: (e) => {
        const [c, m] = partiesOf(e);
        if (!c || !m || !("customer" in c) || !("merchant" in m)) return undefined;
        return {
          merchant: m.merchant,
          actor: e.actor,
          party: c.customer,
          kind: "customer",
          status: "active",
        };
      },
    },
    { type: "test.noted", sealing: "sealed", parties: partiesOf },
  ],
  start: () => ({
    commands: [
      {
        type: "test.bind",
        signer: "customer",
        createsBinding: true,
        handle: ({ command, binding }) => {
          if (binding) throw new ApiError(409, "already_bound", "this key is already bound");
          const customer = `c_${command.nonce.slice(0, 12)}`;
          const parties: Party[] = [{ customer }, { merchant: command.merchant }];
          return {
            entries: [
              {
                type: "test.bound",
                actor: command.actor,
                payload: { customerId: customer, merchantId: command.merchant },
                parties,
                sealed: true,
              },
            ],
          };
        },
      },
      {
        type: "test.note",
        signer: "customer",
        handle: ({ command, binding }) => ({
          entries: [noted(command.actor, binding?.party ?? "", command.merchant, command.payload)],
        }),
      },
      {
        type: "test.triple",
        signer: "customer",
        handle: ({ command, binding }) => {
          const fail =
            typeof command.payload === "object" &&
            command.payload !== null &&
            !Array.isArray(command.payload) &&
            command.payload.fail === true;
          const customer = binding?.party ?? "";
          return {
            entries: [
              noted(command.actor, customer, command.merchant, { part: 1 }),
              {
                ...noted(command.actor, customer, command.merchant, { part: 2 }),
                check: () => {
                  if (fail) throw new ApiError(409, "test_refused", "the second entry is refused");
                },
              },
              noted(command.actor, customer, command.merchant, { part: 3 }),
            ],
          };
        },
      },
      {
        type: "test.attest",
        signer: "merchant",
        handle: ({ command }) => ({
          entries: [noted(command.actor, "", command.merchant, command.payload)],
        }),
      },
    ],
  }),
};

function noted(actor: string, customer: string, merchant: string, payload: JsonValue) {
  const p = { ...(customer ? { customerId: customer } : {}), merchantId: merchant, note: payload };
  return {
    type: "test.noted",
    actor,
    payload: p,
    parties: partiesOf({ payload: p }),
    sealed: true,
  };
}

function partiesOf(e: Pick<Entry, "payload">): Party[] {
  const p = e.payload as { customerId?: string; merchantId?: string };
  const out: Party[] = [];
  if (p.customerId) out.push({ customer: p.customerId });
  if (p.merchantId) out.push({ merchant: p.merchantId });
  return out;
}
