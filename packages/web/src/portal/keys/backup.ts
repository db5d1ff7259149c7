import { scryptAsync } from "@noble/hashes/scrypt.js";
import {
  canonicalJson,
  decodeBase64Url,
  encodeBase64Url,
  tryDecodeBase64Url,
  utf8Decode,
  utf8Encode,
} from "@patron/ledger";
import { ROOT_SECRET_BYTES } from "./derive.js";
import type { Account } from "./store.js";

// The portal's backup file (ARCHITECTURE decision 13): the root secret, and the list of accounts
// it signs for, encrypted under a key derived from a passphrase the customer chooses. With the
// file and the passphrase, another browser derives the same keys. docs/portal.md describes it.
//
//   {
//     "format": "patron-portal-backup", "version": 1, "createdAt": "<RFC 3339>",
//     "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<16 bytes, base64url>" },
//     "cipher": { "name": "AES-256-GCM", "iv": "<12 bytes, base64url>" },
//     "ciphertext": "<base64url>"
//   }
//
// key = scrypt(NFC(passphrase), salt, N, r, p, 32 bytes); ciphertext = AES-256-GCM(key, iv,
// plaintext, additional data = JCS({format, version, kdf, cipher})), so the parameters cannot
// be changed without the file failing to open. The plaintext is JSON:
// { "root": "<32 bytes, base64url>", "accounts": [ Account… ] } (no secret beside the root: a
// passkey's private key never leaves its authenticator).

export const BACKUP_FORMAT = "patron-portal-backup";
export const BACKUP_VERSION = 1;
/** scrypt's cost: 2^17 × 8 × 128 bytes = 128 MiB of memory per guess (OWASP's minimum). */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
/** The shortest passphrase the portal accepts. */
export const MIN_PASSPHRASE = 12;

export interface BackupKdf {
  name: "scrypt";
  N: number;
  r: number;
  p: number;
  salt: string;
}

export interface BackupFile {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  createdAt: string;
  kdf: BackupKdf;
  cipher: { name: "AES-256-GCM"; iv: string };
  ciphertext: string;
}

export interface BackupContent {
  root: Uint8Array;
  accounts: Account[];
}

export type BackupErrorCode =
  | "not_a_backup"
  | "unsupported_version"
  | "bad_parameters"
  | "wrong_passphrase"
  | "weak_passphrase";

export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const bytes = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function keyOf(passphrase: string, kdf: BackupKdf, onProgress?: (f: number) => void) {
  const raw = await scryptAsync(
    utf8Encode(passphrase.normalize("NFC")),
    decodeBase64Url(kdf.salt),
    {
      N: kdf.N,
      r: kdf.r,
      p: kdf.p,
      dkLen: 32,
      onProgress,
    },
  );
  return crypto.subtle.importKey("raw", bytes(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
}

const headerBytes = (f: Pick<BackupFile, "format" | "version" | "kdf" | "cipher">) =>
  bytes(
    utf8Encode(
      canonicalJson({
        format: f.format,
        version: f.version,
        kdf: { ...f.kdf },
        cipher: { ...f.cipher },
      }),
    ),
  );

/**
 * Encrypts the root secret and the account list under `passphrase`.
 *
 * @example
 * const file = await createBackup({ root, accounts }, "correct horse battery staple");
 * const text = JSON.stringify(file, null, 2); // what the customer downloads
 */
export async function createBackup(
  content: BackupContent,
  passphrase: string,
  opts: { onProgress?: (fraction: number) => void; now?: Date } = {},
): Promise<BackupFile> {
  if ([...passphrase.normalize("NFC")].length < MIN_PASSPHRASE) {
    throw new BackupError(
      "weak_passphrase",
      `the passphrase needs at least ${MIN_PASSPHRASE} characters`,
    );
  }
  if (content.root.length !== ROOT_SECRET_BYTES) throw new TypeError("a root secret is 32 bytes");
  const kdf: BackupKdf = {
    name: "scrypt",
    ...SCRYPT,
    salt: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
  };
  const cipher = {
    name: "AES-256-GCM" as const,
    iv: encodeBase64Url(crypto.getRandomValues(new Uint8Array(12))),
  };
  const header = { format: BACKUP_FORMAT, version: BACKUP_VERSION, kdf, cipher } as const;
  const key = await keyOf(passphrase, kdf, opts.onProgress);
  const plain = utf8Encode(
    JSON.stringify({ root: encodeBase64Url(content.root), accounts: content.accounts }),
  );
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: bytes(decodeBase64Url(cipher.iv)), additionalData: headerBytes(header) },
    key,
    bytes(plain),
  );
  return {
    ...header,
    createdAt: (opts.now ?? new Date()).toISOString(),
    ciphertext: encodeBase64Url(new Uint8Array(sealed)),
  };
}

const b64Field = (x: unknown, min: number, max: number) => {
  const b = typeof x === "string" ? tryDecodeBase64Url(x) : undefined;
  return b !== undefined && b.length >= min && b.length <= max;
};

/**
 * Checks a file's shape before any work is spent on it. The scrypt parameters are bounded, so
 * a hostile file cannot make the browser spend gigabytes or minutes on it.
 */
export function parseBackup(text: string): BackupFile {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    throw new BackupError("not_a_backup", "this file is not JSON: it is not a Patron backup");
  }
  if (!isObject(x) || x.format !== BACKUP_FORMAT) {
    throw new BackupError("not_a_backup", "this file is not a Patron portal backup");
  }
  if (x.version !== BACKUP_VERSION) {
    throw new BackupError(
      "unsupported_version",
      `this backup has version ${String(x.version)}; this portal reads version ${BACKUP_VERSION}`,
    );
  }
  const { kdf, cipher, ciphertext, createdAt } = x;
  const pow2 = (n: unknown) => typeof n === "number" && Number.isInteger(n) && (n & (n - 1)) === 0;
  if (
    !isObject(kdf) ||
    kdf.name !== "scrypt" ||
    !pow2(kdf.N) ||
    (kdf.N as number) < 2 ** 14 ||
    (kdf.N as number) > 2 ** 20 ||
    kdf.r !== 8 ||
    typeof kdf.p !== "number" ||
    !Number.isInteger(kdf.p) ||
    kdf.p < 1 ||
    kdf.p > 4 ||
    !b64Field(kdf.salt, 16, 64)
  ) {
    throw new BackupError("bad_parameters", "the backup's key derivation parameters are not valid");
  }
  if (!isObject(cipher) || cipher.name !== "AES-256-GCM" || !b64Field(cipher.iv, 12, 12)) {
    throw new BackupError("bad_parameters", "the backup's cipher parameters are not valid");
  }
  if (!b64Field(ciphertext, 16 + 2, 1_000_000) || typeof createdAt !== "string") {
    throw new BackupError("bad_parameters", "the backup's content is missing or damaged");
  }
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt,
    kdf: { name: "scrypt", N: kdf.N as number, r: 8, p: kdf.p, salt: kdf.salt as string },
    cipher: { name: "AES-256-GCM", iv: cipher.iv as string },
    ciphertext: ciphertext as string,
  };
}

function readAccounts(x: unknown): Account[] {
  if (!Array.isArray(x)) throw new BackupError("bad_parameters", "the backup lists no accounts");
  return x.map((a): Account => {
    if (
      !isObject(a) ||
      typeof a.merchant !== "string" ||
      !/^m_[A-Za-z0-9_-]{1,64}$/.test(a.merchant) ||
      typeof a.merchantName !== "string" ||
      typeof a.ledger !== "string" ||
      (a.kind !== "ed25519" && a.kind !== "passkey") ||
      typeof a.did !== "string" ||
      typeof a.generation !== "number" ||
      !Number.isSafeInteger(a.generation) ||
      a.generation < 0
    ) {
      throw new BackupError("bad_parameters", "an account in the backup is damaged");
    }
    return {
      merchant: a.merchant,
      merchantName: a.merchantName.slice(0, 200),
      ledger: a.ledger,
      kind: a.kind,
      did: a.did,
      generation: a.generation,
      ...(typeof a.credentialId === "string" ? { credentialId: a.credentialId } : {}),
      bound: a.bound === true,
      ...(typeof a.customerId === "string" ? { customerId: a.customerId } : {}),
      createdAt: typeof a.createdAt === "string" ? a.createdAt : new Date(0).toISOString(),
      retired: Array.isArray(a.retired)
        ? a.retired.filter((r): r is string => typeof r === "string")
        : [],
    };
  });
}

/** Decrypts a backup file's text with `passphrase`: its root secret and accounts. */
export async function openBackup(
  text: string,
  passphrase: string,
  opts: { onProgress?: (fraction: number) => void } = {},
): Promise<BackupContent> {
  const file = parseBackup(text);
  const key = await keyOf(passphrase, file.kdf, opts.onProgress);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes(decodeBase64Url(file.cipher.iv)),
        additionalData: headerBytes(file),
      },
      key,
      bytes(decodeBase64Url(file.ciphertext)),
    );
  } catch {
    // AES-GCM cannot tell a wrong passphrase from a changed file: both fail its tag.
    throw new BackupError(
      "wrong_passphrase",
      "the passphrase does not open this backup (or the file was changed)",
    );
  }
  let content: unknown;
  try {
    content = JSON.parse(utf8Decode(new Uint8Array(plain)));
  } catch {
    throw new BackupError("bad_parameters", "the backup's content is damaged");
  }
  if (!isObject(content) || typeof content.root !== "string") {
    throw new BackupError("bad_parameters", "the backup holds no root secret");
  }
  const root = tryDecodeBase64Url(content.root);
  if (!root || root.length !== ROOT_SECRET_BYTES) {
    throw new BackupError("bad_parameters", "the backup's root secret is damaged");
  }
  return { root, accounts: readAccounts(content.accounts) };
}
