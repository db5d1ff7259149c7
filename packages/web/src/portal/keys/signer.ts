import {
  type Command,
  commandChallenge,
  encodeBase64Url,
  type JsonValue,
  type SignedCommand,
  signCommand,
} from "@patron/ledger";
import { deriveMerchantKey } from "./derive.js";
import { createPasskey, passkeyAssert } from "./passkey.js";
import { type Account, ensureRoot, KeyStoreError, loadRoot } from "./store.js";

/** How long a command the portal signs stays valid: long enough to sign, short for a replay. */
export const COMMAND_LIFETIME_MS = 15 * 60_000;

/** What a key is, and where it is: enough to sign with it. */
export type KeyRef = Pick<Account, "ledger" | "merchant" | "kind" | "did" | "generation"> & {
  credentialId?: string;
};

/** A command for `key` to sign: a fresh 16-byte nonce, expiring in 15 minutes. */
export function draftCommand(
  key: Pick<KeyRef, "ledger" | "merchant" | "did">,
  type: string,
  payload: JsonValue,
  now = Date.now(),
): Command {
  return {
    v: 1,
    type,
    ledger: key.ledger,
    actor: key.did,
    merchant: key.merchant,
    nonce: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
    expires: new Date(now + COMMAND_LIFETIME_MS).toISOString(),
    payload,
  };
}

/** Signs `command` with `key`: the derived Ed25519 key, or the passkey (which asks the user). */
export async function signWith(key: KeyRef, command: Command): Promise<SignedCommand> {
  if (command.actor !== key.did) throw new Error("the command names another key than this one");
  if (key.kind === "passkey") {
    if (!key.credentialId) throw new Error("this account's passkey has no credential id");
    return { command, webauthn: await passkeyAssert(key.credentialId, commandChallenge(command)) };
  }
  const root = await loadRoot();
  if (!root) {
    throw new KeyStoreError(
      "corrupt",
      "this browser no longer holds the root secret: restore your backup",
    );
  }
  const derived = deriveMerchantKey(root, key);
  root.fill(0);
  try {
    if (derived.did !== key.did) {
      throw new KeyStoreError(
        "root_mismatch",
        "this browser's root secret does not give this account's key: restore the backup it was made with",
      );
    }
    return signCommand(command, derived.secretKey);
  } finally {
    derived.secretKey.fill(0);
  }
}

/**
 * A new key for a merchant, of the kind asked for: the Ed25519 key of `generation` derived from
 * this browser's root secret (made on first use), or a new passkey.
 */
export async function newKey(input: {
  kind: Account["kind"];
  ledger: string;
  merchant: string;
  merchantName: string;
  generation: number;
}): Promise<KeyRef> {
  if (input.kind === "passkey") {
    const made = await createPasskey(input);
    return {
      kind: "passkey",
      ledger: input.ledger,
      merchant: input.merchant,
      did: made.did,
      generation: 0,
      credentialId: made.credentialId,
    };
  }
  const root = await ensureRoot();
  const { did, secretKey } = deriveMerchantKey(root, input);
  secretKey.fill(0);
  root.fill(0);
  return {
    kind: "ed25519",
    ledger: input.ledger,
    merchant: input.merchant,
    did,
    generation: input.generation,
  };
}
