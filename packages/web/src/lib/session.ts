import { useEffect, useSyncExternalStore } from "react";
import { ApiError, api, type Me } from "./api.js";
import {
  API_KEY_FORM,
  apiKey,
  dropApiKey,
  keyEpoch,
  type SignedOutReason,
  signedOutReason,
  storeApiKey,
  subscribeCredentials,
} from "./credentials.js";

// Whom the explorer reads the ledger as: anyone, or the merchant of the API key this tab holds
// (credentials.ts), as `GET /v1/me` tells. The key is what the node goes by; the name and role
// are shown so the user knows which sealed entries to expect whole.

export type Session =
  | { state: "anonymous"; epoch: number; reason?: SignedOutReason }
  /** A key from an earlier page of this tab, being looked up. */
  | { state: "checking"; epoch: number }
  | { state: "signed-in"; epoch: number; me: Me }
  /** The key is kept and sent, but whose it is could not be looked up (the node unreachable). */
  | { state: "unconfirmed"; epoch: number; error: unknown };

let me: { epoch: number; me: Me } | undefined;
/** The epoch whose "the node refused the key" notice the user dismissed. */
let dismissed: number | undefined;
let lookup: { epoch: number; error?: unknown } | undefined;
let snapshot: Session | undefined;
const listeners = new Set<() => void>();

function compute(): Session {
  const epoch = keyEpoch();
  if (apiKey() === undefined) {
    const reason = dismissed === epoch ? undefined : signedOutReason();
    return reason ? { state: "anonymous", epoch, reason } : { state: "anonymous", epoch };
  }
  if (me?.epoch === epoch) return { state: "signed-in", epoch, me: me.me };
  if (lookup?.epoch === epoch && lookup.error !== undefined) {
    return { state: "unconfirmed", epoch, error: lookup.error };
  }
  return { state: "checking", epoch };
}

function publish() {
  snapshot = compute();
  for (const l of listeners) l();
}

function current(): Session {
  snapshot ??= compute();
  return snapshot;
}

/** Looks up whose the stored key is, once per key; a key the node refuses is dropped. */
function confirm() {
  const key = apiKey();
  const epoch = keyEpoch();
  if (key === undefined || me?.epoch === epoch || lookup?.epoch === epoch) return;
  lookup = { epoch };
  api.me(key).then(
    (who) => {
      if (keyEpoch() !== epoch) return;
      me = { epoch, me: who };
      publish();
    },
    (error: unknown) => {
      if (keyEpoch() !== epoch) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        dropApiKey("refused");
        return;
      }
      lookup = { epoch, error };
      publish();
    },
  );
}

let watching = false;

function subscribe(listener: () => void) {
  if (!watching) {
    // For the page's lifetime: the key changes on sign-in, sign-out, and when the node refuses it.
    watching = true;
    subscribeCredentials(publish);
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function useSession(): Session {
  const s = useSyncExternalStore(subscribe, current);
  useEffect(() => {
    if (s.state === "checking") confirm();
  }, [s]);
  return s;
}

export class SignInError extends Error {
  override name = "SignInError";
}

/**
 * Checks `key` with the node (`GET /v1/me`) and, if it is a merchant's key, keeps it for this
 * tab. Throws SignInError with a sentence for the user otherwise.
 */
export async function signIn(input: string): Promise<Me> {
  const key = input.trim();
  if (key === "") throw new SignInError("Enter an API key.");
  if (!API_KEY_FORM.test(key)) {
    throw new SignInError(
      "An API key is one word of letters, digits and punctuation, without spaces: copy it again.",
    );
  }
  let who: Me;
  try {
    who = await api.me(key);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new SignInError("This node does not know that key, or it was revoked.");
    }
    if (err instanceof ApiError && err.status === 403) {
      throw new SignInError(`This key cannot read a merchant's ledger: ${err.message}`);
    }
    if (err instanceof ApiError && err.status === 0) throw new SignInError(err.message);
    throw new SignInError(
      `The node could not check the key: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  // Known before the key is stored, so no page looks it up again: storing bumps the epoch by one.
  me = { epoch: keyEpoch() + 1, me: who };
  storeApiKey(key);
  return who;
}

/** Hides the notice that the node refused the key. */
export function dismissSignOutNotice() {
  dismissed = keyEpoch();
  publish();
}

/** Looks up whose the key is again, after the node could not be reached. */
export function retrySession() {
  lookup = undefined;
  publish();
}

export function signOut() {
  dropApiKey("signed-out");
  me = undefined;
  lookup = undefined;
}
