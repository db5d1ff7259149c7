import { randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";

/**
 * Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane). `algorithm: 2` is
 * Argon2id (the package's const enum, written as its value).
 */
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD = 10;
/** Long enough for any passphrase, short enough that hashing it is no denial of service. */
export const MAX_PASSWORD = 256;

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

let dummy: Promise<string> | undefined;

/** How many password verifications ran: tests check unknown and known emails both run one. */
export const passwordChecks = { count: 0 };

/**
 * Checks a password against a stored hash, or, when there is none (an unknown email, an
 * invitation not yet accepted), against a dummy hash of the same cost: both paths run one
 * Argon2id verification, so their timing does not tell whether an account exists.
 */
export async function checkPassword(stored: string | undefined, password: string) {
  dummy ??= hashPassword(randomBytes(18).toString("base64url"));
  const target = stored ?? (await dummy);
  passwordChecks.count++;
  let ok = false;
  try {
    ok = await verify(target, password);
  } catch {
    // A corrupt stored hash fails like a wrong password, after the same work.
    ok = false;
  }
  return ok && stored !== undefined;
}
