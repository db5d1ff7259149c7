import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ACCOUNTS_KEY, refOf } from "../account/hooks.js";
import { promote } from "../account/security-hooks.js";
import { call, PortalApiError } from "../api/client.js";
import { Challenge, Me, NoContent, Opened, Recoveries, Sessions } from "../api/schemas.js";
import { draftCommand } from "../keys/signer.js";
import { type Account, putAccount } from "../keys/store.js";
import { useSign } from "../signing/SigningProvider.js";
import { currentSession, dropSession, saveSession, useSession } from "./session.js";

/**
 * Sign-in (decision 5): a single-use challenge from the node, answered by a session.open
 * command the customer's key signs; the answer is a bearer session for an hour.
 */
export function useSignIn(held: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  const open = async (account: Account) => {
    const { challenge } = await call("POST", "/v1/portal/challenges", Challenge, {
      body: { merchant: account.merchant },
    });
    const key = refOf(account);
    const command = draftCommand(key, "session.open", { challenge });
    const signed = await sign({ key, command, merchantName: account.merchantName });
    const opened = await call("POST", "/v1/portal/sessions", Opened, { body: signed });
    saveSession({
      merchant: account.merchant,
      token: opened.token,
      sessionId: opened.session.id,
      customerId: opened.customerId,
      expiresAt: opened.session.expiresAt,
    });
    return opened;
  };
  return useMutation({
    mutationFn: async () => {
      if (!held) throw new Error("this browser holds no key for this merchant");
      try {
        return await open(held);
      } catch (err) {
        // A rotation whose answer was lost: the node has the new key, so it signs from now on.
        const rotated =
          err instanceof PortalApiError &&
          (err.code === "key_rotated" || err.code === "unknown_actor");
        if (!rotated || !held.pending) throw err;
        const promoted = promote(held);
        await putAccount(promoted);
        client.invalidateQueries({ queryKey: ACCOUNTS_KEY });
        return open(promoted);
      }
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["portal", held?.merchant] }),
  });
}

/**
 * A signed-in GET at `merchant`: a 401 means the session ended (expired, revoked from another
 * device, the key replaced), so it is dropped and the page asks to sign in again.
 */
export async function signedIn<T>(
  merchant: string,
  run: (token: string) => Promise<T>,
): Promise<T> {
  const session = currentSession(merchant);
  if (!session) throw new PortalApiError(401, "session_expired", "not signed in");
  try {
    return await run(session.token);
  } catch (err) {
    if (err instanceof PortalApiError && err.status === 401) dropSession(merchant);
    throw err;
  }
}

export function useMe(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "me", session?.sessionId],
    queryFn: () => signedIn(merchant, (token) => call("GET", "/v1/portal/me", Me, { token })),
    enabled: session !== null,
  });
}

export function useSessions(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "sessions", session?.sessionId],
    queryFn: () =>
      signedIn(merchant, (token) => call("GET", "/v1/portal/sessions", Sessions, { token })),
    enabled: session !== null,
  });
}

export function useRecoveries(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "recoveries", session?.sessionId],
    queryFn: () =>
      signedIn(merchant, (token) => call("GET", "/v1/portal/recoveries", Recoveries, { token })),
    enabled: session !== null,
  });
}

/** Ends a session: this one (signing out) or another device's. */
export function useRevokeSession(merchant: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      const current = currentSession(merchant);
      await signedIn(merchant, (token) =>
        call("DELETE", `/v1/portal/sessions/${encodeURIComponent(id)}`, NoContent, { token }),
      );
      if (current?.sessionId === id) dropSession(merchant);
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["portal", merchant] }),
  });
}

/** Signs out here: ends the session on the node, and forgets it in this tab either way. */
export function useSignOut(merchant: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const current = currentSession(merchant);
      try {
        if (current) {
          await call(
            "DELETE",
            `/v1/portal/sessions/${encodeURIComponent(current.sessionId)}`,
            NoContent,
            { token: current.token },
          );
        }
      } finally {
        dropSession(merchant);
        client.removeQueries({ queryKey: ["portal", merchant] });
      }
    },
  });
}
