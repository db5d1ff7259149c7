import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateNoteKeys, parseSignerKey, verifierKeyFromSigner } from "@patron/ledger";
import type { Queryable } from "../db/database.js";
import { getMeta, setMeta } from "./store.js";

export interface LedgerIdentity {
  origin: string;
  signerKey: string;
  verifierKey: string;
}

const KEY_FILE = "ledger-signer.key";

/**
 * The log's origin and checkpoint signing key. The key lives in a file in the data directory
 * (or PATRON_LEDGER_KEY), never in the database, so a database dump cannot forge checkpoints.
 * The database remembers the origin and verifier key so a node started with the wrong key
 * refuses to extend the log instead of signing a history nobody can verify.
 */
export async function loadLedgerIdentity(
  db: Queryable,
  opts: { dataDir: string; signerKey?: string; origin?: string },
): Promise<LedgerIdentity> {
  const storedOrigin = await getMeta(db, "origin");
  const storedVkey = await getMeta(db, "verifier_key");
  if (opts.origin && storedOrigin && opts.origin !== storedOrigin) {
    throw new Error(
      `PATRON_LOG_ORIGIN is "${opts.origin}" but this ledger's origin is "${storedOrigin}"`,
    );
  }
  const origin = storedOrigin ?? opts.origin ?? `patron.local/${randomHex(4)}`;

  const file = join(opts.dataDir, KEY_FILE);
  let signerKey = opts.signerKey;
  if (!signerKey && existsSync(file)) signerKey = readFileSync(file, "utf8").trim();
  if (!signerKey) {
    if (storedVkey) {
      throw new Error(
        `this ledger was signed with ${storedVkey} but its signing key is missing (expected ${file} or PATRON_LEDGER_KEY)`,
      );
    }
    signerKey = generateNoteKeys(origin).signerKey;
    mkdirSync(opts.dataDir, { recursive: true });
    writeFileSync(file, `${signerKey}\n`, { mode: 0o600 });
  }
  const signer = parseSignerKey(signerKey);
  if (signer.name !== origin) {
    throw new Error(
      `the ledger signing key is named "${signer.name}" but the log origin is "${origin}"`,
    );
  }
  const verifierKey = verifierKeyFromSigner(signerKey);
  if (storedVkey && storedVkey !== verifierKey) {
    throw new Error(
      `the ledger signing key does not match this log: the log is verified by ${storedVkey}`,
    );
  }
  if (!storedOrigin) await setMeta(db, "origin", origin);
  if (!storedVkey) await setMeta(db, "verifier_key", verifierKey);
  return { origin, signerKey, verifierKey };
}

function randomHex(n: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("hex");
}
