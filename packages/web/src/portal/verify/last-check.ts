import { VerifiedHead } from "./continuity.js";

// Where this browser keeps the last head it verified, per merchant and customer: localStorage,
// which outlives the tab and the session (the next visit compares with it), and holds nothing
// secret (a checkpoint's size and root, entry indexes and a date). Unlike the keys
// (keys/store.ts) it need not be hidden from scripts: it is evidence the customer keeps, and a
// record that cannot be read counts as none (the page then says it is a first check).

const PREFIX = "patron.portal.verified.";

const keyOf = (merchant: string, customer: string) => `${PREFIX}${merchant}.${customer}`;

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function loadLastCheck(merchant: string, customer: string): VerifiedHead | undefined {
  try {
    const raw = storage()?.getItem(keyOf(merchant, customer));
    if (!raw) return undefined;
    const parsed = VerifiedHead.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function saveLastCheck(merchant: string, customer: string, head: VerifiedHead): void {
  try {
    storage()?.setItem(keyOf(merchant, customer), JSON.stringify(head));
  } catch {
    // Storage full or refused: the next check is a first one again.
  }
}

export function forgetLastCheck(merchant: string, customer: string): void {
  try {
    storage()?.removeItem(keyOf(merchant, customer));
  } catch {
    // Nothing to forget.
  }
}
