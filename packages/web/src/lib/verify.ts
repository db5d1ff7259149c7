import {
  bytesEqual,
  type Checkpoint,
  type Command,
  decodeBase64,
  decodeBase64Url,
  decodeDidKey,
  decodeEntry,
  decodeHex,
  type Entry,
  encodeHex,
  hashLeaf,
  isSealed,
  LedgerError,
  parseVerifierKey,
  publicKeyFromEntryKey,
  type SignedCommand,
  utf8Decode,
  type VerifiedReceipt,
  verifyCheckpoint,
  verifyCommand,
  verifyConsistency,
  verifyEntrySignature,
  verifyInclusion,
  verifyReceipt,
} from "@patron/ledger";
import type { Anchor, ConsistencyProof, InclusionProof } from "./api.js";

// Everything the explorer calls "verified" is decided here, from bytes the node sent and the
// verifier key, with @patron/ledger: the same code the CLI and auditors run. Nothing in this
// file does I/O, so each rule is unit-tested against trees built in the test.

/** A tree head the browser has verified: a signed checkpoint, or a receipt's checkpoint. */
export interface Tree {
  size: number;
  root: Uint8Array;
}

/** A checkpoint whose signature has been checked against the verifier key. */
export interface VerifiedCheckpoint extends Tree {
  note: string;
  checkpoint: Checkpoint;
  /** The verifier key it was checked against, `<name>+<key id>+<base64 key>`. */
  key: string;
  keyName: string;
  keyId: string;
  size: number;
  rootHex: string;
}

export interface Check {
  label: string;
  ok: boolean;
  /** Not checkable here (and so not counted against the verdict); `detail` says why. */
  skipped?: boolean;
  detail: string;
}

/** Throws a LedgerError (with a reason) when the signature or the note is not valid. */
export function openCheckpoint(note: string, key: string): VerifiedCheckpoint {
  const verifier = parseVerifierKey(key);
  const checkpoint = verifyCheckpoint(note, verifier);
  return {
    note,
    checkpoint,
    key,
    keyName: verifier.name,
    keyId: verifier.keyId.toString(16).padStart(8, "0"),
    size: Number(checkpoint.size),
    root: checkpoint.root,
    rootHex: encodeHex(checkpoint.root),
  };
}

const hexHashes = (hashes: readonly string[]): Uint8Array[] | undefined => {
  try {
    return hashes.map(decodeHex);
  } catch {
    return undefined;
  }
};

export interface EntryVerification {
  verified: boolean;
  checks: Check[];
  /** hex: recomputed from the canonical bytes, or for a withheld entry the node's */
  leafHash: string;
  /** The node withheld the content (a sealed entry of someone else's): only its hash is proved. */
  withheld: boolean;
  /** Whether the bytes carry a salt: the entry is sealed (false when they are withheld). */
  sealed: boolean;
  /** The canonical bytes as text (they are UTF-8 JSON when canonical). */
  text?: string;
  entry?: Entry;
  /** For an entry that records a customer's signed command: that command, checked here. */
  command?: CommandVerification;
}

export interface CommandVerification {
  signed: SignedCommand;
  /** How the command was signed: an Ed25519 key, or a passkey (WebAuthn, P-256). */
  method: "Ed25519" | "passkey";
  ok: boolean;
  /** Why it does not verify, when it does not. */
  reason?: string;
  /** The origin a passkey assertion says it was made on (not checked here). */
  origin?: string;
}

function checkpointCheck(head: VerifiedCheckpoint): Check {
  return {
    label: "Checkpoint signature",
    ok: true,
    detail: `tree size ${head.size.toLocaleString("en-US")} signed by ${head.keyName}+${head.keyId}`,
  };
}

/** The RFC 9162 inclusion proof must lead from `leaf` at `index` to the signed root. */
function inclusionCheck(
  index: number,
  leaf: Uint8Array,
  proof: InclusionProof,
  head: VerifiedCheckpoint,
): Check {
  const hashes = hexHashes(proof.proof);
  const sameTree = proof.index === index && proof.size === head.size;
  const included =
    sameTree &&
    hashes !== undefined &&
    verifyInclusion(BigInt(index), head.checkpoint.size, leaf, hashes, head.checkpoint.root);
  return {
    label: "Inclusion proof",
    ok: included,
    detail: !sameTree
      ? `the node sent a proof for entry ${proof.index} in a tree of ${proof.size}`
      : hashes === undefined
        ? "the proof holds a hash that is not hex"
        : included
          ? `${hashes.length} hash${hashes.length === 1 ? "" : "es"} lead from the leaf to the signed root`
          : "the proof does not lead from this leaf to the signed root",
  };
}

/**
 * An entry is verified when its bytes are a canonical entry, their leaf hash is what the node
 * claims, and the inclusion proof leads from that hash to the root of a signed checkpoint.
 * The node's leaf hash is never used for the proof: it is recomputed from the bytes.
 */
export function verifyEntry(input: {
  index: number;
  canonical: string;
  claimedLeafHash: string;
  proof: InclusionProof;
  head: VerifiedCheckpoint;
}): EntryVerification {
  const { index, head, proof } = input;
  const checks: Check[] = [checkpointCheck(head)];
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(input.canonical);
  } catch {
    checks.push({
      label: "Entry bytes",
      ok: false,
      detail: "the node sent bytes that are not base64",
    });
    return { verified: false, checks, leafHash: "", withheld: false, sealed: false };
  }
  let text: string | undefined;
  try {
    text = utf8Decode(bytes);
  } catch {
    text = undefined;
  }
  let entry: Entry | undefined;
  try {
    entry = decodeEntry(bytes);
    checks.push({
      label: "Canonical entry",
      ok: true,
      detail: `${bytes.length.toLocaleString("en-US")} bytes of RFC 8785 canonical JSON${isSealed(entry) ? ", sealed with a 128-bit salt" : ""}`,
    });
  } catch (err) {
    checks.push({ label: "Canonical entry", ok: false, detail: reasonOf(err) });
  }
  if (entry?.subjects) checks.push(chainCheck(index, entry));
  const command = entry?.signed ? checkCommand(entry.signed) : undefined;
  if (command) checks.push(commandCheck(command, head.checkpoint.origin));
  if (entry?.signature) checks.push(signatureCheck(entry));
  const leaf = hashLeaf(bytes);
  const leafHash = encodeHex(leaf);
  const sameLeaf = leafHash === input.claimedLeafHash.toLowerCase();
  checks.push({
    label: "Leaf hash",
    ok: sameLeaf,
    detail: sameLeaf
      ? "SHA-256(0x00 ‖ bytes) recomputed here matches the node's"
      : `SHA-256(0x00 ‖ bytes) is ${leafHash}, the node claims ${input.claimedLeafHash}`,
  });
  checks.push(inclusionCheck(index, leaf, proof, head));
  return {
    verified: checks.every((c) => c.ok),
    checks,
    leafHash,
    withheld: false,
    sealed: entry !== undefined && isSealed(entry),
    text,
    entry,
    command,
  };
}

/**
 * A sealed entry the node does not show the caller: its content cannot be checked here, but
 * its leaf hash can be proved to be the leaf at `index` of the signed tree, exactly as for a
 * public entry. Verified then means "in the ledger", and says nothing of the content.
 */
export function verifySealedEntry(input: {
  index: number;
  claimedLeafHash: string;
  proof: InclusionProof;
  head: VerifiedCheckpoint;
}): EntryVerification {
  const { index, head, proof } = input;
  const claimed = input.claimedLeafHash.toLowerCase();
  const checks: Check[] = [
    checkpointCheck(head),
    {
      label: "Content",
      ok: true,
      skipped: true,
      detail:
        "sealed: only its parties may read it, so the node sent the leaf hash and not the bytes",
    },
  ];
  let leaf: Uint8Array | undefined;
  try {
    leaf = /^[0-9a-f]{64}$/.test(claimed) ? decodeHex(claimed) : undefined;
  } catch {
    leaf = undefined;
  }
  if (!leaf) {
    checks.push({
      label: "Leaf hash",
      ok: false,
      detail: `the node sent "${input.claimedLeafHash}", which is not a SHA-256 hash in hex`,
    });
    return {
      verified: false,
      checks,
      leafHash: input.claimedLeafHash,
      withheld: true,
      sealed: false,
    };
  }
  checks.push(inclusionCheck(index, leaf, proof, head));
  return {
    verified: checks.every((c) => c.ok),
    checks,
    leafHash: claimed,
    withheld: true,
    sealed: false,
  };
}

/** Each party's previous entry must come before this one (decision 7). */
function chainCheck(index: number, entry: Entry): Check {
  const subjects = entry.subjects ?? [];
  const late = subjects.find((s) => s.prev !== null && s.prev >= index);
  const parties = `${subjects.length} ${subjects.length === 1 ? "party" : "parties"}`;
  if (late) {
    return {
      label: "Chain links",
      ok: false,
      detail: `${"merchant" in late ? late.merchant : late.customer} links back to entry ${late.prev}, which is not before this one`,
    };
  }
  return {
    label: "Chain links",
    ok: true,
    detail: `${parties}, each linked to its previous entry (or to none, the first)`,
  };
}

/** verifyCommand, in the browser, with no origin to hold a passkey to. */
export function checkCommand(signed: SignedCommand): CommandVerification {
  const method = "webauthn" in signed ? "passkey" : "Ed25519";
  const origin = "webauthn" in signed ? passkeyOrigin(signed.webauthn.clientDataJSON) : undefined;
  try {
    verifyCommand(signed);
    return { signed, method, ok: true, origin };
  } catch (err) {
    return { signed, method, ok: false, reason: reasonOf(err), origin };
  }
}

function passkeyOrigin(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(utf8Decode(decodeBase64Url(clientDataJSON))) as { origin?: unknown };
    return typeof data.origin === "string" ? data.origin : undefined;
  } catch {
    return undefined;
  }
}

/** What kind of key a command's actor names, for people: "Ed25519 key", "P-256 passkey". */
export function describeActorKey(command: Command): string {
  try {
    const type = decodeDidKey(command.actor).type;
    return type === "Ed25519" ? "Ed25519 key" : `${type} passkey`;
  } catch {
    return "unreadable key";
  }
}

function commandCheck(c: CommandVerification, origin: string): Check {
  const { command } = c.signed;
  if (!c.ok) {
    return {
      label: "Command signature",
      ok: false,
      detail: `the customer's signature does not verify: ${c.reason ?? "refused"}`,
    };
  }
  if (command.ledger !== origin) {
    return {
      label: "Command signature",
      ok: false,
      detail: `the command was signed for the ledger "${command.ledger}", not this one ("${origin}")`,
    };
  }
  return {
    label: "Command signature",
    ok: true,
    detail:
      c.method === "passkey"
        ? `passkey (WebAuthn) assertion by ${command.actor} verifies over the command, made on ${c.origin ?? "an unnamed origin"} (the node checks the origin; this page does not)`
        : `Ed25519 signature by ${command.actor} verifies over the command`,
  };
}

/** An entry that carries its author's signature: it must verify under the key it names. */
function signatureCheck(entry: Entry): Check {
  const sig = entry.signature;
  const key = sig ? publicKeyFromEntryKey(sig.key) : undefined;
  if (!sig || !key) {
    return {
      label: "Author signature",
      ok: true,
      skipped: true,
      detail: `not checked here: the signature names its key as ${sig?.key ?? "nothing"}`,
    };
  }
  const ok = verifyEntrySignature(entry, key);
  return {
    label: "Author signature",
    ok,
    detail: ok
      ? `${sig.alg} signature by ${sig.key} verifies over the entry`
      : `the ${sig.alg} signature does not verify under ${sig.key}`,
  };
}

/**
 * The earliest confirmed anchor whose tree contains entry `index`. An anchored tree that holds
 * the entry and is consistent with the verified checkpoint proves the entry was on chain, so an
 * anchor older than the latest checkpoint counts too (the latest is rarely anchored yet).
 */
export function anchorFor(index: number, anchors: readonly Anchor[]): Anchor | undefined {
  let best: Anchor | undefined;
  for (const a of anchors) {
    if (a.status !== "confirmed" || a.size <= index) continue;
    if (!best || a.size < best.size) best = a;
  }
  return best;
}

/** The consistency proof that ties a tree of `size` to a verified tree; none for equal sizes. */
export function consistencyNeeded(
  tree: Tree,
  size: number,
): { from: number; to: number } | undefined {
  if (size === tree.size) return undefined;
  return size < tree.size ? { from: size, to: tree.size } : { from: tree.size, to: size };
}

/**
 * Whether the tree of `size` with root `rootHex` and the verified tree are one history: the
 * same root at the same size, or a consistency proof (consistencyNeeded) that verifies.
 */
export function sameHistory(
  tree: Tree,
  size: number,
  rootHex: string,
  proof?: ConsistencyProof,
): boolean {
  let root: Uint8Array;
  try {
    root = decodeHex(rootHex);
  } catch {
    return false;
  }
  const need = consistencyNeeded(tree, size);
  if (!need) return bytesEqual(root, tree.root);
  if (!proof || proof.from !== need.from || proof.to !== need.to) return false;
  const hashes = hexHashes(proof.proof);
  if (!hashes) return false;
  return size < tree.size
    ? verifyConsistency(need.from, need.to, hashes, root, tree.root)
    : verifyConsistency(need.from, need.to, hashes, tree.root, root);
}

export type ReceiptOutcome =
  | { ok: true; receipt: VerifiedReceipt; size: number; rootHex: string; leafHashHex: string }
  | { ok: false; code: string; reason: string; detail: string };

const RECEIPT_REASONS: Record<string, string> = {
  malformed: "This file is not a well-formed receipt.",
  invalid_key: "The verifier key is not valid.",
  unknown_key: "The receipt's checkpoint is not signed by this ledger's key.",
  bad_signature: "The checkpoint's signature does not verify: the checkpoint was altered.",
  origin_mismatch: "The receipt comes from a different ledger.",
  out_of_range: "The entry's index is outside the tree of the receipt's checkpoint.",
  proof_mismatch:
    "The inclusion proof does not lead to the signed root: the entry or its proof was altered.",
};

/** verifyReceipt, with a reason a person can act on when it fails. */
export function checkReceipt(text: string, key: string, origin?: string): ReceiptOutcome {
  try {
    const receipt = verifyReceipt(text, key, origin === undefined ? {} : { origin });
    return {
      ok: true,
      receipt,
      size: Number(receipt.checkpoint.size),
      rootHex: encodeHex(receipt.checkpoint.root),
      leafHashHex: encodeHex(receipt.leafHash),
    };
  } catch (err) {
    const code = err instanceof LedgerError ? err.code : "error";
    return {
      ok: false,
      code,
      reason: RECEIPT_REASONS[code] ?? "The receipt could not be verified.",
      detail: reasonOf(err),
    };
  }
}

export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Indented JSON for reading; the canonical text stays the thing that is hashed. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
