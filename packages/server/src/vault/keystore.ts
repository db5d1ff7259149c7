import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSealed, seal } from "./cipher.js";

/**
 * Wraps and unwraps the vault's keys (each customer's data key, each merchant's index key) under
 * the node's master key. An interface, so that a KMS can stand where the local key is.
 */
export interface KeyStore {
  /** The id of the master key new wrappings use. */
  readonly currentId: string;
  wrap(key: Uint8Array, context: string): Promise<{ keyId: string; wrapped: Uint8Array }>;
  /** Throws VaultError("unknown_master_key") when no key with this id is held. */
  unwrap(wrapped: Uint8Array, keyId: string, context: string): Promise<Uint8Array>;
}

export class VaultError extends Error {
  constructor(
    readonly code:
      | "bad_master_key"
      | "unknown_master_key"
      | "erased"
      | "no_such_customer"
      | "corrupt",
    message: string,
  ) {
    super(message);
    this.name = "VaultError";
  }
}

const KEY_FILE = "master.key";
const PREFIX = "patron-master-v1:";

/** A master key's id: the first 8 bytes of its SHA-256, in hex. Names the key, reveals nothing. */
export const masterKeyId = (key: Uint8Array) =>
  createHash("sha256").update(key).digest("hex").slice(0, 16);

/** Reads `patron-master-v1:<base64url of 32 bytes>`. */
export function parseMasterKey(text: string, where: string): Uint8Array {
  const s = text.trim();
  const bytes = s.startsWith(PREFIX) ? Buffer.from(s.slice(PREFIX.length), "base64url") : undefined;
  if (bytes?.length !== 32 || bytes.toString("base64url") !== s.slice(PREFIX.length)) {
    throw new VaultError(
      "bad_master_key",
      `${where}: a master key is "${PREFIX}" followed by 32 bytes in base64url (patron keys master prints one)`,
    );
  }
  return new Uint8Array(bytes);
}

export const formatMasterKey = (key: Uint8Array) =>
  `${PREFIX}${Buffer.from(key).toString("base64url")}`;

/**
 * The master keys held on this node: the current one, which wraps, and earlier ones, which
 * only unwrap until `Vault.rotate` has re-wrapped everything under the current one.
 */
export class LocalKeyStore implements KeyStore {
  private readonly keys = new Map<string, Uint8Array>();
  readonly currentId: string;

  constructor(current: Uint8Array, previous: Uint8Array[] = []) {
    this.currentId = masterKeyId(current);
    this.keys.set(this.currentId, current);
    for (const k of previous) this.keys.set(masterKeyId(k), k);
  }

  /** Ids of the master keys this store can unwrap with. */
  get ids(): string[] {
    return [...this.keys.keys()];
  }

  async wrap(key: Uint8Array, context: string) {
    const master = this.keys.get(this.currentId) as Uint8Array;
    return { keyId: this.currentId, wrapped: seal(master, key, wrapContext(context)) };
  }

  async unwrap(wrapped: Uint8Array, keyId: string, context: string) {
    const master = this.keys.get(keyId);
    if (!master) {
      throw new VaultError(
        "unknown_master_key",
        `a vault key is wrapped by master key ${keyId}, which this node does not hold (set PATRON_MASTER_KEY_PREVIOUS to it)`,
      );
    }
    const key = openSealed(master, wrapped, wrapContext(context));
    if (!key) throw new VaultError("corrupt", `the wrapped key for ${context} does not open`);
    return key;
  }
}

const wrapContext = (context: string) => `patron-vault/v1/wrap/${context}`;

/**
 * The node's master keys: `PATRON_MASTER_KEY` when set, otherwise the data directory's
 * `master.key`, created on the first start (mode 0600). `PATRON_MASTER_KEY_PREVIOUS` (comma
 * separated) names earlier keys during a rotation.
 */
export function loadKeyStore(dataDir: string, env: NodeJS.ProcessEnv = process.env): LocalKeyStore {
  const previous = (env.PATRON_MASTER_KEY_PREVIOUS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => parseMasterKey(s, "PATRON_MASTER_KEY_PREVIOUS"));
  if (env.PATRON_MASTER_KEY) {
    return new LocalKeyStore(parseMasterKey(env.PATRON_MASTER_KEY, "PATRON_MASTER_KEY"), previous);
  }
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    return new LocalKeyStore(parseMasterKey(readFileSync(file, "utf8"), file), previous);
  }
  const key = new Uint8Array(randomBytes(32));
  mkdirSync(dataDir, { recursive: true });
  // wx: two nodes starting on one directory never write two different keys.
  writeFileSync(file, `${formatMasterKey(key)}\n`, { mode: 0o600, flag: "wx" });
  return new LocalKeyStore(key, previous);
}
