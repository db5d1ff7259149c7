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
  | "proof_mismatch"
  | "unsupported"
  | "unsupported_key";

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

export type DidKeyErrorCode = Extract<LedgerErrorCode, "malformed" | "unsupported">;

/** A did:key that is not well formed ("malformed") or names a key type this library lacks. */
export class DidKeyError extends LedgerError {
  override name = "DidKeyError";
  declare readonly code: DidKeyErrorCode;

  // Narrowed so that a caller switching on `code` sees only the codes this error can carry.
  constructor(code: DidKeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export type CommandErrorCode = Extract<
  LedgerErrorCode,
  "malformed" | "unsupported_key" | "bad_signature"
>;

/** A signed command that is malformed, signed by an unsupported key, or badly signed. */
export class CommandError extends LedgerError {
  override name = "CommandError";
  declare readonly code: CommandErrorCode;

  // Narrowed so that a caller switching on `code` sees only the codes this error can carry.
  constructor(code: CommandErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
