import { ROOT_SECRET_BYTES } from "./derive.js";

// What this browser keeps for the portal, in IndexedDB (ARCHITECTURE decision 13):
//
// - "secrets" / "root": the root secret, AES-256-GCM encrypted under a WebCrypto key made with
//   `extractable: false` and stored beside it. IndexedDB keeps the CryptoKey object itself, so
//   the page can ask the browser to decrypt with it but nothing (no script, no export) can read
//   its bytes: a copy of the profile's files is not enough without the browser's own storage
//   protection, and a script can never send the wrapping key anywhere.
// - "accounts": one record per merchant: which key signs there (its did:key, its derivation
//   generation or its passkey's credential id) and whether the node has bound it. No secret.

const DB_NAME = "patron-portal";
const DB_VERSION = 1;
const SECRETS = "secrets";
const ACCOUNTS = "accounts";
const ROOT = "root";
/** Associated data of the wrapped root: the record cannot be swapped for another kind. */
const ROOT_AAD = new TextEncoder().encode("patron-portal root secret/v1");

export type KeyKind = "ed25519" | "passkey";

export interface Account {
  /** The merchant's m_… id (the record's key). */
  merchant: string;
  merchantName: string;
  /** The ledger's origin line the key was derived for and signs on. */
  ledger: string;
  kind: KeyKind;
  /** The did:key the merchant knows this customer by. */
  did: string;
  /** Ed25519: the derivation generation (decision 13); 0 for a passkey. */
  generation: number;
  /** Passkey: its credential id, base64url. */
  credentialId?: string;
  /** Whether the node has bound the key (after customer.join or customer.claim). */
  bound: boolean;
  /** A replacement for a lost key, waiting for the recovery staff started to bind it. */
  recovering?: boolean;
  /**
   * The customer erased their account here: the node keeps this key bound to the erased record,
   * so joining again takes the next generation's key. Nothing else of the account is kept.
   */
  erased?: boolean;
  customerId?: string;
  createdAt: string;
  /** Keys this account signed with before a rotation, oldest first. */
  retired: string[];
  /** A key a rotation was sent for, until the node's answer is known (account/security-hooks). */
  pending?: PendingKey;
}

/** The new key of a rotation in flight. */
export interface PendingKey {
  kind: KeyKind;
  did: string;
  generation: number;
  credentialId?: string;
}

interface WrappedRoot {
  key: CryptoKey;
  iv: Uint8Array;
  sealed: ArrayBuffer;
}

export class KeyStoreError extends Error {
  override name = "KeyStoreError";
  constructor(
    readonly code: "unavailable" | "root_mismatch" | "corrupt",
    message: string,
  ) {
    super(message);
  }
}

let opening: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  if (opening) return opening;
  opening = new Promise<IDBDatabase>((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      reject(new KeyStoreError("unavailable", "this browser has no IndexedDB"));
      return;
    }
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(SECRETS)) db.createObjectStore(SECRETS);
      if (!db.objectStoreNames.contains(ACCOUNTS)) {
        db.createObjectStore(ACCOUNTS, { keyPath: "merchant" });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(
        new KeyStoreError(
          "unavailable",
          `this browser refused its storage to the portal (${req.error?.message ?? "unknown"})`,
        ),
      );
    req.onblocked = () =>
      reject(new KeyStoreError("unavailable", "another tab holds an old version of the portal"));
  });
  opening.catch(() => {
    opening = undefined;
  });
  return opening;
}

function run<T>(
  store: string,
  mode: IDBTransactionMode,
  body: (s: IDBObjectStore) => IDBRequest<T> | undefined,
): Promise<T | undefined> {
  return open().then(
    (db) =>
      new Promise<T | undefined>((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const req = body(tx.objectStore(store));
        tx.oncomplete = () => resolve(req?.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error("storage transaction aborted"));
      }),
  );
}

const ivOf = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const view = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function readWrapped(): Promise<WrappedRoot | undefined> {
  return run<WrappedRoot>(SECRETS, "readonly", (s) => s.get(ROOT));
}

/** The root secret, decrypted for the moment it is needed; undefined when there is none yet. */
export async function loadRoot(): Promise<Uint8Array | undefined> {
  const w = await readWrapped();
  if (!w) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: view(w.iv), additionalData: ROOT_AAD },
      w.key,
      w.sealed,
    );
    return new Uint8Array(plain);
  } catch {
    throw new KeyStoreError("corrupt", "the root secret kept in this browser does not decrypt");
  }
}

/** Wraps and keeps `secret` as this browser's root secret. */
async function storeRoot(secret: Uint8Array): Promise<void> {
  if (secret.length !== ROOT_SECRET_BYTES) throw new TypeError("a root secret is 32 bytes");
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const iv = ivOf(12);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: ROOT_AAD },
    key,
    view(secret),
  );
  const record: WrappedRoot = { key, iv, sealed };
  await run(SECRETS, "readwrite", (s) => s.put(record, ROOT));
  // Ask the browser not to clear the portal's storage under pressure (a hint it may refuse).
  await navigator.storage?.persist?.().catch(() => false);
}

/** This browser's root secret, made (32 random bytes) and kept the first time it is asked for. */
export async function ensureRoot(): Promise<Uint8Array> {
  const held = await loadRoot();
  if (held) return held;
  const secret = crypto.getRandomValues(new Uint8Array(ROOT_SECRET_BYTES));
  await storeRoot(secret);
  return secret;
}

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Takes a root secret restored from a backup. Refused when this browser already holds a
 * different root that keys of its own were derived from: replacing it would lose them.
 */
export async function restoreRoot(secret: Uint8Array): Promise<void> {
  const held = await loadRoot().catch(() => undefined);
  if (held && equal(held, secret)) return;
  if (held) {
    const own = (await listAccounts()).filter((a) => a.kind === "ed25519");
    if (own.length > 0) {
      throw new KeyStoreError(
        "root_mismatch",
        "this browser already holds keys of another root secret: restore into a browser profile without portal keys",
      );
    }
  }
  await storeRoot(secret);
}

export async function listAccounts(): Promise<Account[]> {
  const all = (await run<Account[]>(ACCOUNTS, "readonly", (s) => s.getAll())) ?? [];
  return all.sort((a, b) => a.merchantName.localeCompare(b.merchantName));
}

export async function getAccount(merchant: string): Promise<Account | undefined> {
  return run<Account>(ACCOUNTS, "readonly", (s) => s.get(merchant));
}

export async function putAccount(account: Account): Promise<void> {
  await run(ACCOUNTS, "readwrite", (s) => s.put(account));
}

export async function deleteAccount(merchant: string): Promise<void> {
  await run(ACCOUNTS, "readwrite", (s) => s.delete(merchant));
}
