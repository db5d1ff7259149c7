import { useEffect, useSyncExternalStore } from "react";
import { api } from "./api.js";
import type { Async } from "./hooks.js";
import { openCheckpoint, type VerifiedCheckpoint } from "./verify.js";

// The latest checkpoint, verified against the node's key, shared by the header and the pages
// and refreshed while anyone is looking at it.

const POLL_MS = 5_000;

let keyPromise: Promise<string> | undefined;

/** The node's verifier key, fetched once per page load. */
export function verifierKey(): Promise<string> {
  keyPromise ??= api.key().catch((err: unknown) => {
    keyPromise = undefined;
    throw err;
  });
  return keyPromise;
}

/** Fetches the latest checkpoint and checks its signature; throws if it does not verify. */
export async function fetchVerifiedHead(): Promise<VerifiedCheckpoint> {
  const [key, note] = await Promise.all([verifierKey(), api.checkpoint()]);
  const head = openCheckpoint(note, key);
  publishHead(head);
  return head;
}

let state: Async<VerifiedCheckpoint> = { state: "loading" };
const listeners = new Set<() => void>();
let inflight: Promise<VerifiedCheckpoint> | undefined;
let timer: number | undefined;

function set(next: Async<VerifiedCheckpoint>) {
  state = next;
  for (const l of listeners) l();
}

/** Trees only grow: a smaller checkpoint (a lagging replica, a stale answer) never replaces one. */
export function publishHead(head: VerifiedCheckpoint) {
  if (state.data && head.size < state.data.size) return;
  if (state.state === "ready" && state.data.note === head.note) return;
  set({ state: "ready", data: head });
}

export function refreshHead(): Promise<VerifiedCheckpoint> {
  inflight ??= fetchVerifiedHead()
    .catch((error: unknown) => {
      set(state.data ? { state: "error", data: state.data, error } : { state: "error", error });
      throw error;
    })
    .finally(() => {
      inflight = undefined;
    });
  return inflight;
}

const quietRefresh = () => {
  if (document.visibilityState === "visible") refreshHead().catch(() => {});
};

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (listeners.size === 1) timer = window.setInterval(quietRefresh, POLL_MS);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) window.clearInterval(timer);
  };
}

export function useHead(): Async<VerifiedCheckpoint> {
  const s = useSyncExternalStore(subscribe, () => state);
  useEffect(() => {
    refreshHead().catch(() => {});
  }, []);
  return s;
}

/** The size of the newest verified checkpoint seen so far, if any. */
export const currentHeadSize = (): number | undefined => state.data?.size;
