import { useSyncExternalStore } from "react";

// A customer's portal session at one merchant: the bearer token POST /v1/portal/sessions gave.
// Kept in this tab's sessionStorage only: closing the tab forgets it; the node ends it within
// the hour anyway. Each merchant has its own, as each has its own key.

export interface PortalSession {
  merchant: string;
  token: string;
  sessionId: string;
  customerId: string;
  expiresAt: string;
}

const PREFIX = "patron.portal.session.";
const listeners = new Set<() => void>();
const cache = new Map<string, PortalSession | null>();

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

function read(merchant: string): PortalSession | null {
  if (cache.has(merchant)) {
    const held = cache.get(merchant) ?? null;
    if (held && Date.parse(held.expiresAt) <= Date.now()) return null;
    return held;
  }
  let found: PortalSession | null = null;
  try {
    const raw = storage()?.getItem(PREFIX + merchant);
    const x = raw ? (JSON.parse(raw) as Partial<PortalSession>) : undefined;
    if (
      x &&
      x.merchant === merchant &&
      typeof x.token === "string" &&
      typeof x.sessionId === "string" &&
      typeof x.customerId === "string" &&
      typeof x.expiresAt === "string"
    ) {
      found = x as PortalSession;
    }
  } catch {
    found = null;
  }
  cache.set(merchant, found);
  return found && Date.parse(found.expiresAt) > Date.now() ? found : null;
}

const notify = () => {
  for (const l of listeners) l();
};

export function saveSession(s: PortalSession) {
  cache.set(s.merchant, s);
  try {
    storage()?.setItem(PREFIX + s.merchant, JSON.stringify(s));
  } catch {
    // kept in memory for this page only
  }
  notify();
}

export function dropSession(merchant: string) {
  cache.set(merchant, null);
  try {
    storage()?.removeItem(PREFIX + merchant);
  } catch {
    // nothing kept
  }
  notify();
}

export function currentSession(merchant: string): PortalSession | null {
  return read(merchant);
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

/** The open session at `merchant`, re-rendering when one opens or ends. */
export function useSession(merchant: string): PortalSession | null {
  return useSyncExternalStore(subscribe, () => read(merchant));
}
