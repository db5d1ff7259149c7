import {
  attachmentCommitment,
  encodeBase64Url,
  type JsonValue,
  type SignedCommand,
} from "@patron/ledger";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { call, PortalApiError } from "../api/client.js";
import { Committed, Health, JoinInfo } from "../api/schemas.js";
import { draftCommand, type KeyRef, newKey } from "../keys/signer.js";
import { type Account, getAccount, type KeyKind, listAccounts, putAccount } from "../keys/store.js";
import { type SignRequest, useSign } from "../signing/SigningProvider.js";

export const ACCOUNTS_KEY = ["accounts"] as const;

/** The node's ledger origin: what every command names as its `ledger`. */
export function useHealth() {
  return useQuery({
    queryKey: ["health"],
    queryFn: () => call("GET", "/health", Health),
    staleTime: 5 * 60_000,
  });
}

/** The merchants this browser holds keys for. */
export function useAccounts() {
  return useQuery({ queryKey: ACCOUNTS_KEY, queryFn: listAccounts });
}

export function useAccount(merchant: string) {
  return useQuery({
    queryKey: [...ACCOUNTS_KEY, merchant],
    queryFn: async () => (await getAccount(merchant)) ?? null,
  });
}

/** A merchant's public name (GET /v1/merchants/{id}/join): 404 for one that does not exist. */
export function useMerchant(merchant: string) {
  return useQuery({
    queryKey: ["merchant", merchant],
    queryFn: () => call("GET", `/v1/merchants/${encodeURIComponent(merchant)}/join`, JoinInfo),
    retry: false,
  });
}

/** What a customer fills in to join; empty fields are left out. */
export interface JoinForm {
  name: string;
  email: string;
  phone: string;
  birthday: string;
  language: string;
  line1: string;
  line2: string;
  city: string;
  postcode: string;
  country: string;
}

/** The values `customer.join` carries beside it, as the node's JoinValues takes them. */
export function joinValues(form: JoinForm): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const k of ["name", "email", "phone", "birthday", "language"] as const) {
    const v = form[k].trim();
    if (v) out[k] = v;
  }
  const address: Record<string, string> = {};
  for (const k of ["line1", "line2", "city", "postcode"] as const) {
    const v = form[k].trim();
    if (v) address[k] = v;
  }
  const country = form.country.trim().toUpperCase();
  if (country) address.country = country;
  if (Object.keys(address).length > 0) out.address = address;
  return out;
}

/** The same values, one line each, as the signing dialog lists them. */
export function sharedLines(values: Record<string, JsonValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    out[k] =
      typeof v === "string"
        ? v
        : Object.values(v as Record<string, string>)
            .filter(Boolean)
            .join(", ");
  }
  return out;
}

/**
 * The key a merchant will know this customer by: the one kept from an earlier attempt that the
 * node never bound (a passkey already made is not made twice), or a new one of `kind`.
 */
async function keyFor(
  merchant: string,
  merchantName: string,
  ledger: string,
  kind: KeyKind,
): Promise<Account> {
  const held = await getAccount(merchant);
  if (held?.bound) {
    throw new PortalApiError(409, "already_joined", "this browser already has a key here");
  }
  if (held && !held.erased && held.kind === kind && held.ledger === ledger) return held;
  // After an erasure the old key stays bound to the erased record: never derive it again.
  const generation = held?.erased ? held.generation + 1 : 0;
  const key = await newKey({ kind, ledger, merchant, merchantName, generation });
  const account: Account = {
    ...key,
    merchant,
    merchantName,
    bound: false,
    createdAt: new Date().toISOString(),
    retired: [],
  };
  // Kept before anything is signed: a passkey made is never lost to a failed request.
  await putAccount(account);
  return account;
}

const refOf = (a: Account): KeyRef => ({
  kind: a.kind,
  ledger: a.ledger,
  merchant: a.merchant,
  did: a.did,
  generation: a.generation,
  ...(a.credentialId ? { credentialId: a.credentialId } : {}),
});

/** Submits a signed command (and values beside it) to POST /v1/commands. */
export function submit(
  signed: SignedCommand,
  attached?: { salt: string; values: Record<string, JsonValue> },
) {
  return call("POST", "/v1/commands", Committed, {
    body: attached ? { ...signed, attached } : signed,
  });
}

/**
 * Binds a new key at a merchant: signs `makeCommand`'s command (customer.join or customer.claim)
 * and marks the account bound once the node has it. A retry the node already committed
 * (already_joined) counts as done.
 */
function useBind<V>(
  merchant: string,
  build: (
    vars: V,
    key: KeyRef,
  ) => {
    type: string;
    payload: JsonValue;
    shared?: Record<string, string>;
    attached?: { salt: string; values: Record<string, JsonValue> };
  },
) {
  const sign = useSign();
  const health = useHealth();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (vars: V & { kind: KeyKind; merchantName: string }) => {
      const ledger = health.data?.origin ?? (await call("GET", "/health", Health)).origin;
      const account = await keyFor(merchant, vars.merchantName, ledger, vars.kind);
      const key = refOf(account);
      const made = build(vars, key);
      const command = draftCommand(key, made.type, made.payload);
      const request: SignRequest = {
        key,
        command,
        merchantName: vars.merchantName,
        ...(made.shared ? { shared: made.shared } : {}),
      };
      const signed = await sign(request);
      try {
        await submit(signed, made.attached);
      } catch (err) {
        if (!(err instanceof PortalApiError && err.code === "already_joined")) throw err;
      }
      const bound: Account = { ...account, bound: true };
      await putAccount(bound);
      client.setQueryData([...ACCOUNTS_KEY, merchant], bound);
      return bound;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ACCOUNTS_KEY }),
  });
}

/** customer.join: a new profile with the values the customer gives. */
export function useJoin(merchant: string) {
  return useBind<{ values: Record<string, JsonValue> }>(merchant, ({ values }) => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    return {
      type: "customer.join",
      payload: { attached: attachmentCommitment(salt, values) },
      shared: sharedLines(values),
      attached: { salt: encodeBase64Url(salt), values },
    };
  });
}

/** customer.claim: the profile staff made, by the invite code they gave. */
export function useClaim(merchant: string) {
  return useBind<{ code: string }>(merchant, ({ code }) => ({
    type: "customer.claim",
    payload: { code },
  }));
}

export { refOf };
