import { decodeEntry, type Entry } from "./canonical.js";
import { type Checkpoint, verifyCheckpoint } from "./checkpoint.js";
import { bytesEqual, encodeBase64, tryDecodeBase64 } from "./encoding.js";
import { LedgerError, ReceiptError } from "./errors.js";
import { hashLeaf, isBytes, isHash } from "./hash.js";
import { verifyInclusion } from "./merkle.js";
import type { NoteVerifier } from "./note.js";

// C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable proof that some data is in a
// log. Patron puts the entry's canonical bytes in `extra`, so a receipt is self-contained.

export interface Receipt {
  index: bigint;
  /** Inclusion proof, leaf's sibling first. */
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
  /** Leaf data; unauthenticated until verifyReceipt checks it against the proof. */
  extra?: Uint8Array;
}

export interface VerifiedReceipt {
  index: bigint;
  checkpoint: Checkpoint;
  leafHash: Uint8Array;
  /** The entry, when the verified leaf data is a Patron entry. */
  entry?: Entry;
}

const HEADER = "c2sp.org/tlog-proof@v1";
const MAX_U64 = (1n << 64n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const MAX_PROOF = 64; // trees below 2^64 leaves have shorter inclusion proofs

function malformed(message: string): never {
  throw new ReceiptError("malformed", message);
}

export function formatReceipt(r: Receipt): string {
  if (typeof r.index !== "bigint" || r.index < 0n || r.index > MAX_U64) {
    malformed("receipt index must be a bigint in 0..2^64-1");
  }
  if (!Array.isArray(r.proof) || r.proof.length > MAX_PROOF || !r.proof.every(isHash)) {
    malformed("receipt proof must be at most 64 hashes of 32 bytes");
  }
  if (typeof r.checkpoint !== "string" || !r.checkpoint.endsWith("\n")) {
    malformed("receipt checkpoint must be a signed note ending in a newline");
  }
  if (r.extra !== undefined && !isBytes(r.extra)) malformed("receipt extra must be a Uint8Array");
  let out = `${HEADER}\n`;
  if (r.extra !== undefined) out += `extra ${encodeBase64(r.extra)}\n`;
  out += `index ${r.index}\n`;
  for (const h of r.proof) out += `${encodeBase64(h)}\n`;
  return `${out}\n${r.checkpoint}`;
}

export function parseReceipt(text: string): Receipt {
  if (typeof text !== "string") malformed("receipt is not a string");
  // The checkpoint starts after the first empty line; everything before it is one item a line.
  const blank = text.indexOf("\n\n");
  if (blank < 0) malformed("receipt has no empty line before the checkpoint");
  const head = text.slice(0, blank).split("\n");
  const checkpoint = text.slice(blank + 2);
  if (checkpoint === "" || !checkpoint.endsWith("\n")) malformed("receipt has no checkpoint");
  if (head[0] !== HEADER) malformed(`receipt must start with "${HEADER}"`);
  let i = 1;
  let extra: Uint8Array | undefined;
  if (head[i]?.startsWith("extra ")) {
    extra = tryDecodeBase64((head[i] as string).slice("extra ".length));
    if (!extra) malformed("receipt extra is not valid base64");
    i++;
  }
  const indexLine = head[i];
  if (!indexLine?.startsWith("index ")) malformed('receipt has no "index" line');
  const indexText = indexLine.slice("index ".length);
  if (!DECIMAL.test(indexText))
    malformed("receipt index is not a decimal number without leading zeros");
  const index = BigInt(indexText);
  if (index > MAX_U64) malformed("receipt index is larger than 2^64-1");
  const proofLines = head.slice(i + 1);
  if (proofLines.length > MAX_PROOF) malformed("receipt proof is longer than 64 hashes");
  const proof = proofLines.map((line) => {
    const h = tryDecodeBase64(line);
    if (h?.length !== 32) malformed("receipt proof line is not a base64 32-byte hash");
    return h;
  });
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}

/**
 * Verifies a receipt against the log's verifier key: the checkpoint's signature (and origin, if
 * given), then the inclusion of hashLeaf(leafData ?? extra) at `index` under its root.
 */
export function verifyReceipt(
  text: string,
  verifierKey: string | NoteVerifier,
  opts: { origin?: string; leafData?: Uint8Array } = {},
): VerifiedReceipt {
  const r = parseReceipt(text);
  let checkpoint: Checkpoint;
  try {
    checkpoint = verifyCheckpoint(r.checkpoint, verifierKey, { origin: opts.origin });
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    throw new ReceiptError(err.code, err.message, { cause: err });
  }
  if (opts.leafData !== undefined && !isBytes(opts.leafData)) {
    throw new TypeError("leafData must be a Uint8Array");
  }
  const data = opts.leafData ?? r.extra;
  if (data === undefined) {
    throw new ReceiptError("malformed", "receipt has no extra data and no leaf data was given");
  }
  // extra is unauthenticated: if the caller brings the data, a different extra means the receipt
  // is about something else, and returning an entry decoded from it would be a lie.
  if (opts.leafData !== undefined && r.extra !== undefined && !bytesEqual(opts.leafData, r.extra)) {
    throw new ReceiptError("extra_mismatch", "receipt extra data differs from the given leaf data");
  }
  if (r.index >= checkpoint.size) {
    throw new ReceiptError(
      "out_of_range",
      `receipt index ${r.index} is not below the checkpoint's tree size ${checkpoint.size}`,
    );
  }
  const leafHash = hashLeaf(data);
  if (!verifyInclusion(r.index, checkpoint.size, leafHash, r.proof, checkpoint.root)) {
    throw new ReceiptError("proof_mismatch", "inclusion proof does not match checkpoint root");
  }
  let entry: Entry | undefined;
  try {
    entry = decodeEntry(data);
  } catch {
    entry = undefined; // not a Patron entry: still a valid proof of the opaque data
  }
  return entry === undefined
    ? { index: r.index, checkpoint, leafHash }
    : { index: r.index, checkpoint, leafHash, entry };
}
