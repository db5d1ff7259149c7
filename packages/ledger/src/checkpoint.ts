import { encodeBase64, tryDecodeBase64 } from "./encoding.js";
import { CheckpointError, LedgerError } from "./errors.js";
import { isHash } from "./hash.js";
import { type NoteSigner, type NoteVerifier, openNote, signNote } from "./note.js";

// C2SP tlog-checkpoint: the note text of a signed tree head.

export interface Checkpoint {
  /** Unique identity of the log, conventionally its schema-less URL. */
  origin: string;
  size: bigint;
  root: Uint8Array;
  /** Optional opaque non-empty lines after the root. */
  extensions: string[];
}

const MAX_U64 = (1n << 64n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function malformed(message: string): never {
  throw new CheckpointError("malformed", message);
}

function checkLine(line: unknown, what: string): string {
  if (typeof line !== "string" || line === "") malformed(`checkpoint ${what} must be non-empty`);
  if (line.includes("\n")) malformed(`checkpoint ${what} must not contain a newline`);
  return line;
}

/** The note text: origin, size, base64 root and extension lines, each ending in "\n". */
export function formatCheckpoint(cp: Checkpoint): string {
  const origin = checkLine(cp.origin, "origin");
  if (typeof cp.size !== "bigint" || cp.size < 0n || cp.size > MAX_U64) {
    malformed("checkpoint size must be a bigint in 0..2^64-1");
  }
  if (!isHash(cp.root)) malformed("checkpoint root must be a 32-byte hash");
  const extensions = (cp.extensions ?? []).map((e) => checkLine(e, "extension line"));
  return [origin, cp.size.toString(), encodeBase64(cp.root), ...extensions]
    .map((l) => `${l}\n`)
    .join("");
}

/** Strict parse of checkpoint note text (not a signed note: see verifyCheckpoint). */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== "string" || !text.endsWith("\n"))
    malformed("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) malformed("checkpoint has fewer than three lines");
  if (lines.some((l) => l === "")) malformed("checkpoint has an empty line");
  const [origin, sizeText, rootText, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (!DECIMAL.test(sizeText))
    malformed("checkpoint size is not a decimal number without leading zeros");
  const size = BigInt(sizeText);
  if (size > MAX_U64) malformed("checkpoint size is larger than 2^64-1");
  const root = tryDecodeBase64(rootText);
  if (root?.length !== 32) malformed("checkpoint root is not a base64 32-byte hash");
  return { origin, size, root, extensions };
}

export function signCheckpoint(cp: Checkpoint, signerKey: string | NoteSigner): string {
  return signNote(formatCheckpoint(cp), signerKey);
}

/**
 * Opens a signed checkpoint with the log's verifier key. Other signatures (witness
 * cosignatures) are ignored. Pass `origin` to also pin which log it must come from.
 */
export function verifyCheckpoint(
  note: string,
  verifierKey: string | NoteVerifier,
  opts: { origin?: string } = {},
): Checkpoint {
  let text: string;
  try {
    text = openNote(note, [verifierKey]).text;
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    const reason =
      err.code === "malformed" || err.code === "invalid_key"
        ? err.message
        : `checkpoint signature invalid: ${err.message}`;
    throw new CheckpointError(err.code, reason, { cause: err });
  }
  const cp = parseCheckpoint(text);
  if (opts.origin !== undefined && cp.origin !== opts.origin) {
    throw new CheckpointError(
      "origin_mismatch",
      `checkpoint is from log "${cp.origin}", expected "${opts.origin}"`,
    );
  }
  return cp;
}
