import { readFileSync } from "node:fs";
import { parseVerifierKey } from "@patron/ledger";

/** A mistake in the command line: reported with a pointer to `patron help`, exit status 2. */
export class UsageError extends Error {}

const VERIFIER_KEY = /^[^+\s]+\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/=]+$/;

/** `--key`: a verifier key given inline or in a file, checked to be one. */
export function readKeyArg(value: string): string;
export function readKeyArg(value: string | undefined): string | undefined;
export function readKeyArg(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  let key = value;
  if (!VERIFIER_KEY.test(value)) {
    try {
      key = readFileSync(value, "utf8").trim();
    } catch {
      throw new UsageError(`--key is neither a verifier key nor a readable file: ${value}`);
    }
  }
  try {
    parseVerifierKey(key);
  } catch (e) {
    throw new UsageError(`--key: ${(e as Error).message}`);
  }
  return key;
}
