/**
 * Machine-readable reasons, so callers (the server's HTTP layer, CLIs) can branch on `code`
 * without parsing messages.
 */
export type LedgerErrorCode =
  | "malformed"
  | "not_canonical"
  | "invalid_key"
  | "ambiguous_key"
  | "unknown_key"
  | "bad_signature"
  | "origin_mismatch"
  | "out_of_range"
  | "extra_mismatch"
  | "proof_mismatch";

export class LedgerError extends Error {
  override name = "LedgerError";
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class EntryFormatError extends LedgerError {
  override name = "EntryFormatError";
}

export class NoteError extends LedgerError {
  override name = "NoteError";
}

export class CheckpointError extends LedgerError {
  override name = "CheckpointError";
}

export class ReceiptError extends LedgerError {
  override name = "ReceiptError";
}
