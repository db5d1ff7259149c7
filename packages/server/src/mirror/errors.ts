/**
 * Why a mirror run stopped.
 * - `fork`: the source signed two checkpoints that cannot both be true (see ForkAlarm);
 * - `anchor`: the chain anchors a root the source's checkpoints contradict (see ForkAlarm);
 * - `invalid`: the source served data that does not verify (an altered entry, a bad signature,
 *   entries that do not lead to the signed root, a proof that does not verify);
 * - `key`: the source's verifier key is not the one this mirror pinned;
 * - `source`: the source could not be reached or answered with an error (worth retrying);
 * - `auth`: the source refused the mirror's API key (unknown or revoked; not retried);
 * - `chain`: the chain given for the anchor check could not be read, or holds no LedgerAnchor
 *   for this log (worth retrying when the endpoint is down);
 * - `state`: the mirror directory is damaged, locked or belongs to another log.
 */
export type MirrorErrorCode =
  | "fork"
  | "anchor"
  | "invalid"
  | "key"
  | "source"
  | "auth"
  | "chain"
  | "state";

/** The codes that say something about the log itself; the others are failures to check it. */
export const ALARM_CODES: ReadonlySet<MirrorErrorCode> = new Set([
  "fork",
  "anchor",
  "invalid",
  "key",
]);

export class MirrorError extends Error {
  override name = "MirrorError";
  readonly code: MirrorErrorCode;

  constructor(code: MirrorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The source has shown a history inconsistent with one it showed before (code `fork`), or with
 * the roots anchored on the chain (code `anchor`). `evidence` is the file in the mirror directory
 * that holds both sides: two signed checkpoints, or the signed checkpoint and the chain's anchor.
 */
export class ForkAlarm extends MirrorError {
  override name = "ForkAlarm";
  readonly evidence: string;

  constructor(message: string, evidence: string, code: "fork" | "anchor" = "fork") {
    super(code, message);
    this.evidence = evidence;
  }
}

/** What the chain holds for one tree size, as an anchor check found it. */
export interface ChainAnchor {
  chainId?: number;
  contract: string;
  size: bigint;
  /** 0x-prefixed hex root, as the contract returns it. */
  root: string;
  /** The transaction that anchored it, when the check could find its `Anchored` event. */
  txHash?: string;
  blockNumber?: bigint;
}

/**
 * Thrown by an anchor check (`MirrorOptions.checkAnchor`) when the chain contradicts the
 * checkpoint: the mirror keeps the evidence and raises a ForkAlarm with code `anchor`.
 */
export class AnchorConflict extends MirrorError {
  override name = "AnchorConflict";
  readonly anchor: ChainAnchor;
  /** The source's consistency proof between the two sizes, when the conflict rests on one. */
  readonly proof?: { from: bigint; to: bigint; hashes: Uint8Array[] };

  constructor(
    message: string,
    anchor: ChainAnchor,
    proof?: { from: bigint; to: bigint; hashes: Uint8Array[] },
  ) {
    super("anchor", message);
    this.anchor = anchor;
    this.proof = proof;
  }
}
