import type { JsonValue } from "@patron/ledger";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { ACCOUNTS_KEY, refOf, submit } from "../account/hooks.js";
import { call, PortalApiError } from "../api/client.js";
import { Me } from "../api/schemas.js";
import { draftCommand } from "../keys/signer.js";
import { type Account, putAccount } from "../keys/store.js";
import { signedIn } from "../session/hooks.js";
import { currentSession, dropSession, useSession } from "../session/session.js";
import { useSign } from "../signing/SigningProvider.js";
import { forgetLastCheck } from "../verify/last-check.js";
import {
  ConsentOptions,
  Consents,
  Jwks,
  Receipt,
  type RequestKind,
  Requests,
  RetentionPolicies,
} from "./schemas.js";

// The customer's consents, data-subject requests and erasure at one merchant. Reads are
// signed-in GETs; every change is a command the customer's key signs after the signing dialog
// has shown it in plain words (decision 13), sent to POST /v1/commands.

/** A signed-in query at `merchant`, keyed by the session so a new sign-in reads afresh. */
function usePortalQuery<T>(merchant: string, name: string, read: (token: string) => Promise<T>) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, name, session?.sessionId],
    queryFn: () => signedIn(merchant, read),
    enabled: session !== null,
  });
}

export function useConsents(merchant: string) {
  return usePortalQuery(merchant, "consents", (token) =>
    call("GET", "/v1/portal/consents", Consents, { token }),
  );
}

export function useConsentOptions(merchant: string) {
  return usePortalQuery(merchant, "consent-options", (token) =>
    call("GET", "/v1/portal/consent-options", ConsentOptions, { token }),
  );
}

/** One consent's receipt, read when the customer opens it. */
export function useReceipt(merchant: string, consentId: string, open: boolean) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "receipt", consentId, session?.sessionId],
    queryFn: () =>
      signedIn(merchant, (token) =>
        call("GET", `/v1/portal/consents/${encodeURIComponent(consentId)}/receipt`, Receipt, {
          token,
        }),
      ),
    enabled: session !== null && open,
    staleTime: 0,
  });
}

/** The merchant's published issuer keys: what a receipt's signature is checked against. */
export function useIssuerKeys(path: string | undefined) {
  return useQuery({
    queryKey: ["issuer", path],
    queryFn: () => call("GET", path ?? "", Jwks),
    enabled: path?.startsWith("/v1/merchants/") === true,
    staleTime: 5 * 60_000,
  });
}

export function useRequests(merchant: string) {
  return usePortalQuery(merchant, "requests", (token) =>
    call("GET", "/v1/portal/requests", Requests, { token }),
  );
}

export function useRetention(merchant: string) {
  return usePortalQuery(merchant, "retention", (token) =>
    call("GET", "/v1/portal/retention-policies", RetentionPolicies, { token }),
  );
}

/** Names the signing dialog gives the ids a command carries (purposes, categories, merchants). */
export type Names = Record<string, string>;

/**
 * A command the customer's key signs and the node commits: drafted, shown, signed, submitted;
 * then the merchant's reads of `refresh` are read again.
 */
function useSignedCommand<V>(
  account: Account | null | undefined,
  refresh: string[],
  build: (vars: V) => { type: string; payload: JsonValue; names?: Names },
) {
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (vars: V) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const made = build(vars);
      const command = draftCommand(key, made.type, made.payload);
      const signed = await sign({
        key,
        command,
        merchantName: account.merchantName,
        ...(made.names ? { names: made.names } : {}),
      });
      return submit(signed);
    },
    onSuccess: () => {
      for (const name of refresh) {
        client.invalidateQueries({ queryKey: ["portal", account?.merchant, name] });
      }
    },
  });
}

/** consent.grant: a new consent, to this merchant or a partner. */
export function useGrant(account: Account | null | undefined) {
  return useSignedCommand<{ payload: Record<string, JsonValue>; names: Names }>(
    account,
    ["consents"],
    (v) => ({ type: "consent.grant", payload: v.payload, names: v.names }),
  );
}

/** consent.narrow: fewer purposes or categories, or an earlier end. */
export function useNarrow(account: Account | null | undefined) {
  return useSignedCommand<{ payload: Record<string, JsonValue>; names: Names }>(
    account,
    ["consents", "receipt"],
    (v) => ({ type: "consent.narrow", payload: v.payload, names: v.names }),
  );
}

/** consent.revoke: the consent allows nothing from now on. */
export function useRevoke(account: Account | null | undefined) {
  return useSignedCommand<{ consentId: string; names: Names }>(
    account,
    ["consents", "receipt"],
    (v) => ({ type: "consent.revoke", payload: { consentId: v.consentId }, names: v.names }),
  );
}

/** request.submit: a data-subject request, the signature its identity check. */
export function useSubmitRequest(account: Account | null | undefined) {
  return useSignedCommand<{ kind: RequestKind; names: Names }>(account, ["requests"], (v) => ({
    type: "request.submit",
    payload: { kind: v.kind },
    names: v.names,
  }));
}

/** What the erased page shows: the merchant, the entry, and whether the node shut the session. */
export interface Erased {
  merchantName: string;
  index: number | undefined;
  sessionEnded: boolean;
}

/**
 * customer.erase (Art. 17): the node crypto-shreds the customer's data and ends their sessions.
 * The portal then checks the session no longer opens anything, forgets it and this browser's
 * account there (the key signs for nothing any more), and shows the erased page.
 */
export function useErase(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: async (): Promise<Erased> => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const command = draftCommand(key, "customer.erase", {});
      const signed = await sign({ key, command, merchantName: account.merchantName });
      const committed = await submit(signed);
      const session = currentSession(account.merchant);
      let sessionEnded = true;
      if (session) {
        sessionEnded = await call("GET", "/v1/portal/me", Me, { token: session.token }).then(
          () => false,
          (err) => err instanceof PortalApiError && err.status === 401,
        );
      }
      const erased: Erased = {
        merchantName: account.merchantName,
        index: committed.entries.find((e) => e.type === "customer.erased")?.index,
        sessionEnded,
      };
      // Off the merchant's pages first, so they do not ask to sign in again.
      navigate("/erased", { state: erased, replace: true });
      // The last verified head named their history: nothing of it stays in this browser.
      if (session) forgetLastCheck(account.merchant, session.customerId);
      dropSession(account.merchant);
      // Kept as a tombstone (the key's generation, nothing personal): joining again here then
      // derives a new key, since the node keeps this one bound to the erased record.
      const { pending: _, recovering: __, customerId: ___, ...kept } = account;
      await putAccount({ ...kept, bound: false, erased: true });
      client.removeQueries({ queryKey: ["portal", account.merchant] });
      client.removeQueries({ queryKey: [...ACCOUNTS_KEY, account.merchant] });
      await client.invalidateQueries({ queryKey: ACCOUNTS_KEY });
      return erased;
    },
  });
}
