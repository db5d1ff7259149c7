import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import canonicalizeModule from "canonicalize";
import { checkJson } from "../json.js";
import { type Problem, RuleValidationError } from "../problems.js";

type Canonicalize = (input: unknown) => string | undefined;
// canonicalize is CommonJS typed as if it had a default export: Node gives ESM the function
// itself, while some bundlers give a namespace whose `default` is the function.
const canonicalizeAny: unknown = canonicalizeModule;
const canonicalize = (
  typeof canonicalizeAny === "function"
    ? canonicalizeAny
    : (canonicalizeAny as { default: unknown }).default
) as Canonicalize;

/**
 * The RFC 8785 (JCS) canonical JSON of a rule document: the bytes its hash is taken over.
 * Throws RuleValidationError for a value that is not integer-only JSON.
 */
export function canonicalRuleJson(document: unknown): string {
  const problems: Problem[] = [];
  checkJson(document, "", problems);
  if (problems.length > 0) throw new RuleValidationError(problems);
  return canonicalize(document) as string;
}

/**
 * The hash a published rule carries: lowercase hex SHA-256 of the document's RFC 8785
 * canonical JSON. Key order and whitespace do not change it; any field's value does.
 */
export function ruleHash(document: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalRuleJson(document))));
}
