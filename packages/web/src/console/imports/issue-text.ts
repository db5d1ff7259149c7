/**
 * The codes of an import's row issues the console says in words (`import.issueCodes.*`). The
 * node's reason is English: for a code not listed here it is shown as it is.
 */
export const ISSUE_CODES = [
  "invalid_email",
  "blocked_email",
  "invalid_phone",
  "blocked_phone",
  "invalid_identity",
  "too_many_identities",
  "no_identifier",
  "empty_row",
  "merge_suggested",
  "wrong_field_count",
  "unclosed_quote",
  "row_too_long",
  "malformed_row",
  "invalid_name",
  "invalid_birthday",
  "invalid_language",
  "invalid_stage",
  "invalid_tags",
  "invalid_attributes",
  "invalid_address",
  "invalid_emails",
  "invalid_phones",
  "invalid_identities",
  "too_many_attributes",
  "identity_in_use",
  "customer_changed",
  "customer_erased",
] as const;

const KNOWN: ReadonlySet<string> = new Set(ISSUE_CODES);
export const knownIssue = (code: string): boolean => KNOWN.has(code);

/**
 * The codes of the node's refusals of a whole file (not of a row) the console says in words
 * (`import.fileCodes.*`): its header, its encoding, the options sent with it. Any other refusal
 * is said as every other error is, with the node's words.
 */
export const FILE_CODES = [
  "empty_file",
  "invalid_header",
  "duplicate_column",
  "no_columns",
  "invalid_map",
  "invalid_country",
  "invalid_utf8",
  "upload_failed",
  "unsupported_media_type",
  "unsupported_charset",
] as const;

const FILE: ReadonlySet<string> = new Set(FILE_CODES);
export const knownFileError = (code: string): boolean => FILE.has(code);

/** Why an import failed or stopped (`errorCode`) that is not a refusal of its file. */
export const FAILURE_CODES = ["node_stopped"] as const;

/**
 * The words for an import's `errorCode`: a refusal of its file as the upload form says it, a
 * failure of the node's as such, null for any other (a database's error says more as the node
 * wrote it).
 */
export function failureKey(code: string | null | undefined): string | null {
  if (!code) return null;
  if (knownFileError(code)) return `import.fileCodes.${code}`;
  return (FAILURE_CODES as readonly string[]).includes(code) ? `import.failures.${code}` : null;
}

/**
 * The file's own column headers a reason names (`column "E-mail": …`, several when a row's
 * errors were joined): the one part of the node's English that a translation keeps.
 */
export function issueColumns(reason: string): string[] {
  return [...new Set([...reason.matchAll(/column "([^"]*)"/g)].map((m) => m[1] as string))];
}
