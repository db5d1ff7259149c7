import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { ConsoleApiError, call, setCsrfToken } from "../../api/client.js";
import { Session } from "../../api/schemas.js";

export const SESSION_KEY = ["session"] as const;

/** The signed-in staff user, or null when the session cookie is missing or ended. */
async function fetchSession(): Promise<Session | null> {
  try {
    const s = await call("GET", "/v1/staff/me", Session);
    setCsrfToken(s.csrfToken);
    return s;
  } catch (err) {
    if (err instanceof ConsoleApiError && err.status === 401) {
      setCsrfToken(undefined);
      return null;
    }
    throw err;
  }
}

export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, staleTime: 60_000 });
}

/**
 * Whether a role writes, as the node's `can.write` says: owners, admins and staff do; auditors
 * (and a role this console does not know) only read. Write controls are offered only to them.
 */
export const canWrite = (role: string | undefined) =>
  role === "owner" || role === "admin" || role === "staff";

/** Whether the signed-in staff user writes (not while the session is read). */
export function useCanWrite() {
  return canWrite(useSession().data?.staff.role);
}

export function useSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { email: string; password: string }) =>
      call("POST", "/v1/staff/session", Session, { body: input }),
    onSuccess: (s) => {
      setCsrfToken(s.csrfToken);
      client.setQueryData(SESSION_KEY, s);
    },
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call("DELETE", "/v1/staff/session", z.object({ signedOut: z.literal(true) })),
    onSettled: () => {
      setCsrfToken(undefined);
      client.setQueryData(SESSION_KEY, null);
      // Nothing read while signed in stays in memory after signing out.
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    },
  });
}
