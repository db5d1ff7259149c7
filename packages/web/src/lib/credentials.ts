// The merchant API key the explorer reads the ledger with, if the user gave one. It lives in
// this tab's sessionStorage only (never localStorage): closing the tab forgets it, and no other
// tab or later visit sees it. api.ts sends it as a Bearer token on ledger reads.

const STORAGE_KEY = "patron.explorer.apiKey";

/** What the node accepts as a key: printable ASCII without spaces (the server's own rule). */
export const API_KEY_FORM = /^[\x21-\x7e]{1,200}$/;

export type SignedOutReason = "signed-out" | "refused";

let loaded = false;
let key: string | undefined;
let epoch = 0;
let reason: SignedOutReason | undefined;
const listeners = new Set<() => void>();

function storage(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.sessionStorage;
  } catch {
    // storage disabled by the browser: the key lasts until the page is left
    return undefined;
  }
}

function load() {
  if (loaded) return;
  loaded = true;
  const stored = storage()?.getItem(STORAGE_KEY) ?? undefined;
  key = stored && API_KEY_FORM.test(stored) ? stored : undefined;
}

/** The API key of this tab, if any. */
export function apiKey(): string | undefined {
  load();
  return key;
}

/**
 * Changes with every sign-in and sign-out, so a page that read the ledger with one key (or
 * none) loads again with the next.
 */
export function keyEpoch(): number {
  return epoch;
}

/** Why the key was last dropped, for a notice; cleared by the next sign-in. */
export function signedOutReason(): SignedOutReason | undefined {
  return reason;
}

function publish() {
  epoch++;
  for (const l of listeners) l();
}

export function storeApiKey(next: string) {
  load();
  key = next;
  reason = undefined;
  try {
    storage()?.setItem(STORAGE_KEY, next);
  } catch {
    // quota or privacy mode: kept in memory for this page only
  }
  publish();
}

/** Forgets the key; `refused` when the node no longer accepts it (revoked, or another node). */
export function dropApiKey(why: SignedOutReason = "signed-out") {
  load();
  if (key === undefined && reason === why) return;
  key = undefined;
  reason = why;
  try {
    storage()?.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored to remove
  }
  publish();
}

export function subscribeCredentials(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
