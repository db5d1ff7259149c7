import { resolve } from "node:path";
import {
  bytesEqual,
  decodeEntry,
  decodeHex,
  EMPTY_ROOT,
  type Entry,
  encodeBase64,
  encodeHex,
  isSealed,
  LedgerError,
  type MerkleFrontier,
  parseVerifierKey,
  tryDecodeBase64,
  verifyCheckpoint,
  verifyCommand,
  verifyConsistency,
} from "@patron/ledger";
import type { z } from "zod";
import { hashLeafNative } from "../ledger/hash.js";
import { AnchorConflict, ForkAlarm, MirrorError } from "./errors.js";
import { CheckpointsPage, ConsistencyProof, EntriesPage, Source } from "./source.js";
import { entryLine, type MirrorCheckpoint, MirrorStore, type StagedEntry } from "./store.js";

export {
  ALARM_CODES,
  AnchorConflict,
  type ChainAnchor,
  ForkAlarm,
  MirrorError,
  type MirrorErrorCode,
} from "./errors.js";
export {
  type MirrorCheckpoint,
  type MirroredEntry,
  readMirroredEntries,
  SEGMENT_ENTRIES,
} from "./store.js";

/** Helpers the anchor hook may use: proofs come from the source and must be checked. */
export interface AnchorCheckContext {
  /** The source's consistency proof between two tree sizes (unverified). */
  consistency(from: bigint, to: bigint): Promise<Uint8Array[]>;
}

export interface MirrorOptions {
  /** Base URL of the node to mirror, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The mirror directory (created if needed, reused for incremental runs). */
  dir: string;
  /**
   * The log's verifier key. Without it, the key the source serves on first contact is pinned;
   * with it, a source serving another key is an alarm.
   */
  verifierKey?: string;
  /**
   * An API key of a merchant (an auditor key is enough), sent as a Bearer token with the
   * entries requests: the node then serves that merchant's sealed entries whole, and the
   * mirror copies and checks them. Without it, sealed entries are kept as their leaf hashes.
   * The key is never logged or stored.
   */
  apiKey?: string;
  /** Keep polling for new checkpoints until `signal` aborts. */
  follow?: boolean;
  /** Time between polls with `follow` (default 5000 ms). */
  intervalMs?: number;
  /** Entries requested per page (1..1000, default 1000). */
  pageSize?: number;
  progress?: (done: bigint, total: bigint) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /**
   * Called with every checkpoint the mirror is about to commit as its state (the latest of a
   * run, and the intermediate ones a long run commits on the way), once everything else about
   * it verified, and with the current checkpoint when a poll finds nothing new. Throw to refuse
   * it: an AnchorConflict (the chain contradicts it) becomes a ForkAlarm with code `anchor` and
   * evidence; a MirrorError is passed on as it is; any other error becomes code `anchor`.
   */
  checkAnchor?: (checkpoint: MirrorCheckpoint, ctx: AnchorCheckContext) => Promise<void>;
}

export interface MirrorResult {
  origin: string;
  verifierKey: string;
  /** Entries in the verified copy. */
  size: bigint;
  /** Entries of the copy that are sealed and held as their leaf hash only. */
  hashOnly: bigint;
  /** The latest verified checkpoint (signed note), if any. */
  checkpoint?: string;
  /** Entries fetched and verified by this call. */
  fetched: bigint;
  /** Checkpoints verified and recorded by this call. */
  checkpoints: number;
  /** Polls made (1 without `follow`). */
  rounds: number;
  /** True when `signal` stopped the run. */
  aborted: boolean;
}

/** Entries kept in memory at most before committing at a verified checkpoint. */
const COMMIT_EVERY = 10_000;

interface Run {
  opts: MirrorOptions;
  source: Source;
  store: MirrorStore;
  log: (line: string) => void;
  pageSize: number;
  /** Whether the change of source URL was already reported. */
  notedSource?: boolean;
}

interface RoundResult {
  fetched: bigint;
  checkpoints: number;
}

/**
 * Pulls a node's ledger into `dir`, verifying every entry, every checkpoint signature and the
 * consistency of each new checkpoint with the last verified one. Throws ForkAlarm when the
 * source contradicts what it signed before (the evidence is kept in `dir`) and MirrorError when
 * anything else fails to verify; nothing unverified is ever committed.
 */
export async function runMirror(given: MirrorOptions): Promise<MirrorResult> {
  let base: URL;
  try {
    base = new URL(given.url);
  } catch {
    throw new TypeError(`not a URL: ${given.url}`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new TypeError(`the source must be an http(s) URL, got ${given.url}`);
  }
  const opts = { ...given, url: normaliseSourceUrl(given.url) };
  const pageSize = opts.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new RangeError("pageSize must be an integer from 1 to 1000");
  }
  if (opts.verifierKey !== undefined) parseVerifierKey(opts.verifierKey);
  // Printable ASCII without spaces, as the node's API keys are (and as a header can carry).
  if (opts.apiKey !== undefined && !/^[\x21-\x7e]{1,1000}$/.test(opts.apiKey)) {
    throw new TypeError("apiKey must be printable ASCII without spaces");
  }
  const intervalMs = opts.intervalMs ?? 5000;
  const signal = opts.signal;
  const store = await MirrorStore.open(resolve(opts.dir));
  const run: Run = {
    opts,
    source: new Source(opts.url, { fetch: opts.fetch, signal, apiKey: opts.apiKey }),
    store,
    log: opts.log ?? (() => {}),
    pageSize,
  };
  noteKeyChange(run);
  let fetched = 0n;
  let checkpoints = 0;
  let rounds = 0;
  try {
    while (!signal?.aborted) {
      rounds++;
      try {
        const r = await syncOnce(run);
        fetched += r.fetched;
        checkpoints += r.checkpoints;
      } catch (err) {
        if (signal?.aborted) break;
        const retry =
          opts.follow &&
          err instanceof MirrorError &&
          (err.code === "source" || err.code === "chain");
        if (!retry) throw err;
        run.log(
          `${err.code === "source" ? "source" : "chain"} unavailable, retrying in ${intervalMs / 1000} s: ${err.message}`,
        );
      }
      if (!opts.follow) break;
      await sleep(intervalMs, signal);
    }
  } finally {
    await store.close();
  }
  const s = store.state;
  return {
    origin: s?.origin ?? "",
    verifierKey: s?.verifierKey ?? opts.verifierKey ?? "",
    size: s?.size ?? 0n,
    hashOnly: s?.hashOnly ?? 0n,
    checkpoint: s?.checkpoint?.note,
    fetched,
    checkpoints,
    rounds,
    aborted: signal?.aborted ?? false,
  };
}

/** Says so when this run reads with an API key and the runs that made the copy did not, or back. */
function noteKeyChange(run: Run): void {
  const s = run.store.state;
  const withKey = run.source.hasApiKey;
  if (!s || s.size === 0n || s.withApiKey === withKey) return;
  run.log(
    withKey
      ? `note: the last run that added to this copy had no API key; the ${s.hashOnly} sealed entries the copy holds as leaf hashes stay so (each entry is copied once: mirror into a new directory to copy them whole). Entries from index ${s.size} on are read with the key.`
      : `note: the last run that added to this copy had an API key, this one has none: sealed entries from index ${s.size} on are kept as leaf hashes only.`,
  );
}

/**
 * The form a source URL is stored and compared in: `http://node:8080/` and `http://node:8080`
 * (or `HTTP://Node:8080//`) name the same node. Text that is not a URL is returned as it is.
 */
export function normaliseSourceUrl(url: string): string {
  let href: string;
  try {
    href = new URL(url).href;
  } catch {
    href = url;
  }
  return href.replace(/\/+$/, "");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted) return done();
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

const short = (root: Uint8Array) => encodeBase64(root);

function invalid(message: string): never {
  throw new MirrorError("invalid", message);
}

function openCheckpoint(
  note: string,
  key: string,
  origin: string | undefined,
  what: string,
): MirrorCheckpoint {
  try {
    return { ...verifyCheckpoint(note, key, { origin }), note };
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    invalid(`${what} does not verify under the pinned key ${key}: ${err.message}`);
  }
}

/** One poll: bring the copy up to the source's latest checkpoint. */
async function syncOnce(run: Run): Promise<RoundResult> {
  const { opts, source, store } = run;
  const servedKey = (await source.text("/v1/ledger/key")).trim();
  let state = store.state;
  if (state && opts.verifierKey !== undefined && opts.verifierKey !== state.verifierKey) {
    throw new MirrorError(
      "key",
      `this mirror pinned the verifier key ${state.verifierKey}, not ${opts.verifierKey}; a mirror follows one log with one key (use another directory)`,
    );
  }
  const pinned = state?.verifierKey ?? opts.verifierKey ?? servedKey;
  if (servedKey !== pinned) {
    throw new MirrorError(
      "key",
      `${source.base} now serves the verifier key ${servedKey || "(none)"}, but this mirror trusts ${pinned}${state ? " (pinned on first contact)" : " (given)"}. A log must not change its key silently: find out why before trusting it again.`,
    );
  }
  if (!state) {
    try {
      parseVerifierKey(pinned);
    } catch (err) {
      invalid(`${source.base} serves an invalid verifier key: ${(err as Error).message}`);
    }
  }

  const latest = openCheckpoint(
    await source.text("/v1/ledger/checkpoint"),
    pinned,
    state?.origin,
    `the latest checkpoint of ${source.base}`,
  );
  if (!state) {
    await store.init(opts.url, latest.origin, pinned, source.hasApiKey);
    state = store.state as NonNullable<typeof store.state>;
    run.log(`first contact: pinned ${latest.origin} with verifier key ${pinned}`);
  } else if (normaliseSourceUrl(state.source) !== opts.url && !run.notedSource) {
    run.notedSource = true;
    run.log(
      `note: this mirror was made from ${state.source}, now reading ${latest.origin} from ${opts.url}`,
    );
  }

  const prev = state.checkpoint;
  const M = state.size;
  if (prev && latest.size < M) {
    return fork(run, "rollback", prev, latest, {
      explanation: `${source.base} now serves a signed checkpoint of size ${latest.size}, smaller than the checkpoint of size ${M} it signed before: the log has lost or hidden entries it had already published (it was rolled back, or it shows different histories to different readers).`,
    });
  }
  if (latest.size === M) {
    const before = prev?.root ?? EMPTY_ROOT;
    if (bytesEqual(before, latest.root)) {
      // Nothing new from the source, but the chain may have anchored more since the last poll.
      if (prev) await anchorCheck(run, prev);
      return { fetched: 0n, checkpoints: 0 };
    }
    if (!prev)
      invalid(
        `the checkpoint of the empty log has root ${short(latest.root)}, not the empty tree's root`,
      );
    return fork(run, "same-size", prev, latest, {
      explanation: `${source.base} signed two different checkpoints of size ${M}: root ${short(prev.root)} before and ${short(latest.root)} now. Both verify under the log's key, so the log has shown two different histories (a fork).`,
    });
  }

  // The source must be able to prove that its new checkpoint extends the one it showed before.
  // A source that refuses the proof (an HTTP error, a malformed answer) is treated as one whose
  // proof does not verify: its entries then decide between a fork and plain invalid data.
  let proof: { hashes: Uint8Array[]; ok: boolean; error?: string } | undefined;
  if (prev && M > 0n) {
    try {
      const p = await source.json(
        `/v1/ledger/proofs/consistency?from=${M}&to=${latest.size}`,
        ConsistencyProof,
      );
      let hashes: Uint8Array[] = [];
      let ok = p.from === Number(M) && p.to === Number(latest.size);
      try {
        hashes = p.proof.map(decodeHex);
      } catch {
        ok = false;
      }
      ok &&= verifyConsistency(M, latest.size, hashes, prev.root, latest.root);
      proof = { hashes, ok };
    } catch (err) {
      if (!(err instanceof MirrorError) || opts.signal?.aborted) throw err;
      proof = { hashes: [], ok: false, error: err.message };
    }
  }

  const walk = await walkEntries(run, latest);

  if (!walk.rootMatches) {
    if (prev && proof && !proof.ok) {
      return fork(run, "inconsistent", prev, latest, {
        explanation: `${source.base} signed a checkpoint of size ${latest.size} that does not extend the checkpoint of size ${M} it signed before: its consistency proof ${proof.error ? `could not be fetched (${proof.error})` : "does not verify"}, and the entries it serves after index ${M} do not lead from the old root to the new one. The log has rewritten history (a fork).`,
        proof: { from: M, to: latest.size, hashes: proof.hashes, error: proof.error },
      });
    }
    invalid(
      `the entries ${source.base} served do not match its signed checkpoint: entries ${walk.committedFrom}..${latest.size - 1n} give root ${short(walk.root)}, the checkpoint of size ${latest.size} says ${short(latest.root)}`,
    );
  }
  if (walk.conflict) {
    const c = walk.conflict;
    return fork(run, "intermediate", c.checkpoint, latest, {
      explanation: `${source.base} signed a checkpoint of size ${c.checkpoint.size} with root ${short(c.checkpoint.root)}, but the entries that lead to its checkpoint of size ${latest.size} (which they match) give root ${short(c.actual)} at size ${c.checkpoint.size}. Both checkpoints verify under the log's key and cannot describe the same history (a fork).`,
    });
  }
  if (proof && !proof.ok) {
    // The entries themselves lead from the old root to the new one, which proves consistency;
    // but a source that serves a wrong proof would mislead every other verifier.
    if (!proof.error) {
      invalid(
        `the consistency proof ${source.base} serves from size ${M} to ${latest.size} does not verify, although its entries show the checkpoints are consistent: the source cannot prove what it signed`,
      );
    }
    run.log(
      `note: no consistency proof from size ${M} to ${latest.size} (${proof.error}); the entries prove it`,
    );
  }

  await anchorCheck(run, latest);
  await store.commit(
    opts.url,
    walk.staged,
    [...walk.checkpoints, latest],
    latest,
    walk.frontier,
    source.hasApiKey,
  );
  const total = walk.fetched;
  const cps = walk.committedCheckpoints + walk.checkpoints.length + 1;
  run.log(`verified checkpoint of size ${latest.size} (+${total} entries, ${cps} checkpoints)`);
  return { fetched: total, checkpoints: cps };
}

interface Walk {
  /** Whether the entries lead to the target checkpoint's root. */
  rootMatches: boolean;
  root: Uint8Array;
  frontier: MerkleFrontier;
  /** Entries and checkpoints verified since the last intermediate commit. */
  staged: StagedEntry[];
  checkpoints: MirrorCheckpoint[];
  /** Where the uncommitted stretch starts. */
  committedFrom: bigint;
  fetched: bigint;
  committedCheckpoints: number;
  /** The first signed intermediate checkpoint the entries contradict. */
  conflict?: { checkpoint: MirrorCheckpoint; actual: Uint8Array };
}

/**
 * Fetches and checks entries from the committed size up to `target.size`, checking every
 * signed checkpoint the source lists on the way against the tree the entries build. Commits at
 * verified intermediate checkpoints so memory stays bounded on a long first run.
 */
async function walkEntries(run: Run, target: MirrorCheckpoint): Promise<Walk> {
  const { source, store, opts } = run;
  const state = store.state as NonNullable<typeof store.state>;
  const frontier = state.frontier.clone();
  const feed = new CheckpointFeed(run, state.size, target.size, state.verifierKey, state.origin);
  let staged: StagedEntry[] = [];
  let checkpoints: MirrorCheckpoint[] = [];
  let committedFrom = state.size;
  let committedCheckpoints = 0;
  let fetched = 0n;
  let conflict: Walk["conflict"];
  let next = await feed.next();
  opts.progress?.(frontier.size, target.size);
  while (frontier.size < target.size) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const from = frontier.size;
    const want =
      target.size - from < BigInt(run.pageSize) ? target.size - from : BigInt(run.pageSize);
    const page = await source.json(
      `/v1/ledger/entries?from=${from}&limit=${want}`,
      EntriesPage,
      true,
    );
    if (page.entries.length === 0) {
      throw new MirrorError(
        "source",
        `${source.base} signed a checkpoint of size ${target.size} but serves no entries from index ${from}`,
      );
    }
    for (const e of page.entries) {
      if (frontier.size === target.size) break;
      const i = frontier.size;
      if (BigInt(e.index) !== i) {
        invalid(`entry ${i}: the source sent entry ${e.index} where entry ${i} was expected`);
      }
      const checked = checkServedEntry(i, e, state.origin);
      frontier.append(checked.leaf);
      fetched++;
      if (!conflict) staged.push(checked.staged);
      while (next && next.size === frontier.size) {
        const root = frontier.root();
        if (!bytesEqual(root, next.root)) {
          conflict ??= { checkpoint: next, actual: root };
        } else if (!conflict && next.size < target.size) {
          checkpoints.push(next);
          if (staged.length >= COMMIT_EVERY) {
            await anchorCheck(run, next);
            await store.commit(opts.url, staged, checkpoints, next, frontier, source.hasApiKey);
            committedFrom = next.size;
            committedCheckpoints += checkpoints.length;
            staged = [];
            checkpoints = [];
          }
        }
        next = await feed.next();
      }
    }
    opts.progress?.(frontier.size, target.size);
  }
  const root = frontier.root();
  return {
    rootMatches: bytesEqual(root, target.root),
    root,
    frontier,
    staged,
    checkpoints,
    committedFrom,
    fetched,
    committedCheckpoints,
    conflict,
  };
}

type ServedEntry = z.infer<typeof EntriesPage>["entries"][number];

const LEAF_HASH = /^[0-9a-fA-F]{64}$/;

/**
 * Checks one entry as the source served it and returns its leaf and its line in the copy.
 * Whole: the bytes must hash to the served leaf hash, decode as a canonical entry, agree with
 * the served `sealed` flag, and any signed command in them must verify. Sealed, without bytes:
 * the served leaf hash is the leaf (the checkpoints the tree must reach are what check it).
 */
function checkServedEntry(
  i: bigint,
  e: ServedEntry,
  origin: string,
): { leaf: Uint8Array; staged: StagedEntry } {
  if (e.canonical === undefined) {
    if (e.sealed !== true) {
      invalid(`entry ${i}: the source serves neither its bytes nor marks it sealed`);
    }
    if (!LEAF_HASH.test(e.leafHash)) {
      invalid(`entry ${i}: its leaf hash ${e.leafHash} is not 32 bytes of hex`);
    }
    const leafHex = e.leafHash.toLowerCase();
    return { leaf: decodeHex(leafHex), staged: entryLine(i, leafHex, undefined, true) };
  }
  const bytes = tryDecodeBase64(e.canonical);
  if (!bytes) invalid(`entry ${i}: its canonical bytes are not valid base64`);
  const leaf = hashLeafNative(bytes);
  const leafHex = encodeHex(leaf);
  if (leafHex !== e.leafHash.toLowerCase()) {
    invalid(
      `entry ${i}: its bytes hash to ${leafHex}, but the source gives leaf hash ${e.leafHash}: the entry was altered`,
    );
  }
  let entry: Entry;
  try {
    entry = decodeEntry(bytes);
  } catch (err) {
    invalid(`entry ${i} is not a valid canonical ledger entry: ${(err as Error).message}`);
  }
  const sealed = isSealed(entry);
  if (e.sealed !== undefined && e.sealed !== sealed) {
    invalid(
      `entry ${i}: the source marks it ${e.sealed ? "sealed" : "public"}, but its bytes ${sealed ? "carry a salt (sealed)" : "carry no salt (public)"}`,
    );
  }
  if (entry.signed) checkSignedCommand(i, entry, origin);
  return { leaf, staged: entryLine(i, leafHex, e.canonical, sealed) };
}

/**
 * A customer's signed command kept in an entry (decision 5): its signature must verify for its
 * actor, the entry must be recorded with that actor, and the command must be for this log.
 * Expiry and nonces were the sequencer's checks at the time and are not repeated.
 */
function checkSignedCommand(i: bigint, entry: Entry, origin: string): void {
  const signed = entry.signed as NonNullable<Entry["signed"]>;
  try {
    verifyCommand(signed);
  } catch (err) {
    invalid(`entry ${i}: its signed command does not verify: ${(err as Error).message}`);
  }
  const { actor, ledger } = signed.command;
  if (entry.actor !== actor) {
    invalid(`entry ${i}: its actor ${entry.actor} is not the signer of its command (${actor})`);
  }
  if (ledger !== origin) {
    invalid(
      `entry ${i}: its signed command is for the ledger "${ledger}", not this log ("${origin}")`,
    );
  }
}

/** The source's stored checkpoints in (after, upTo], a page at a time, each signature checked. */
class CheckpointFeed {
  #buffer: MirrorCheckpoint[] = [];
  #after: bigint;
  #done = false;

  constructor(
    private readonly run: Run,
    start: bigint,
    private readonly upTo: bigint,
    private readonly key: string,
    private readonly origin: string,
  ) {
    this.#after = start;
  }

  async next(): Promise<MirrorCheckpoint | undefined> {
    while (this.#buffer.length === 0 && !this.#done) {
      const after = this.#after;
      const page = await this.run.source.json(
        `/v1/ledger/checkpoints?after=${after}&limit=1000`,
        CheckpointsPage,
      );
      if (page.checkpoints.length === 0) this.#done = true;
      for (const c of page.checkpoints) {
        const size = BigInt(c.size);
        // Every page must move past what was asked for (so a source cannot keep the mirror
        // busy forever); within a page a size may repeat, and each note for it is compared
        // with the tree in turn.
        if (size <= after || size < this.#after) {
          invalid(
            `the source listed checkpoint size ${size} after size ${this.#after}: not in increasing order`,
          );
        }
        this.#after = size;
        if (size > this.upTo) {
          this.#done = true;
          break;
        }
        const cp = openCheckpoint(
          c.note,
          this.key,
          this.origin,
          `the checkpoint of size ${size} listed by the source`,
        );
        if (cp.size !== size) {
          invalid(
            `the source listed a checkpoint as size ${size}, but its signed note says ${cp.size}`,
          );
        }
        this.#buffer.push(cp);
        if (size === this.upTo) this.#done = true;
      }
    }
    return this.#buffer.shift();
  }
}

const checkpointRecord = (cp: MirrorCheckpoint) => ({
  size: cp.size.toString(),
  root: encodeBase64(cp.root),
  note: cp.note,
});

/** Keeps the evidence and stops the mirror. */
async function fork(
  run: Run,
  kind: "rollback" | "same-size" | "inconsistent" | "intermediate",
  previous: MirrorCheckpoint,
  conflicting: MirrorCheckpoint,
  details: {
    explanation: string;
    proof?: { from: bigint; to: bigint; hashes: Uint8Array[]; error?: string };
  },
): Promise<never> {
  const state = run.store.state as NonNullable<typeof run.store.state>;
  const path = await run.store.writeEvidence("fork", {
    format: "patron-mirror-fork-evidence/1",
    kind,
    detectedAt: new Date().toISOString(),
    source: run.source.base,
    origin: state.origin,
    verifierKey: state.verifierKey,
    explanation: details.explanation,
    previous: checkpointRecord(previous),
    conflicting: checkpointRecord(conflicting),
    ...(details.proof
      ? {
          consistencyProof: {
            from: details.proof.from.toString(),
            to: details.proof.to.toString(),
            proof: details.proof.hashes.map(encodeHex),
            verifies: false,
            ...(details.proof.error ? { error: details.proof.error } : {}),
          },
        }
      : {}),
    howToCheck:
      "Both notes are C2SP signed checkpoints: each verifies under verifierKey (Ed25519, Go signed-note format). Checkpoints of one honest log are always consistent: the same size means the same root, and an RFC 9162 consistency proof links a smaller tree to a larger one. These two are not, so the log's key signed two incompatible histories.",
  });
  throw new ForkAlarm(
    `FORK: ${details.explanation} The mirror stopped at size ${state.size}; evidence (both signed checkpoints) saved in ${path}.`,
    path,
  );
}

/** The source's consistency proof between two sizes, unverified (the caller checks it). */
async function sourceConsistency(run: Run, from: bigint, to: bigint): Promise<Uint8Array[]> {
  const p = await run.source.json(
    `/v1/ledger/proofs/consistency?from=${from}&to=${to}`,
    ConsistencyProof,
  );
  if (BigInt(p.from) !== from || BigInt(p.to) !== to) {
    invalid(
      `the source answered a consistency proof from ${p.from} to ${p.to} when asked for ${from} to ${to}`,
    );
  }
  try {
    return p.proof.map(decodeHex);
  } catch {
    invalid(`the source's consistency proof from ${from} to ${to} is not a list of hex hashes`);
  }
}

/** Runs the `checkAnchor` hook on a checkpoint about to become (or staying) the mirror's state. */
async function anchorCheck(run: Run, cp: MirrorCheckpoint): Promise<void> {
  const hook = run.opts.checkAnchor;
  if (!hook) return;
  try {
    await hook(cp, { consistency: (from, to) => sourceConsistency(run, from, to) });
  } catch (err) {
    if (err instanceof AnchorConflict) return anchorAlarm(run, cp, err);
    if (err instanceof MirrorError || run.opts.signal?.aborted) throw err;
    throw new MirrorError(
      "anchor",
      `the checkpoint of size ${cp.size} failed the anchor check: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Keeps the evidence of a checkpoint the chain contradicts, and stops the mirror. */
async function anchorAlarm(
  run: Run,
  cp: MirrorCheckpoint,
  conflict: AnchorConflict,
): Promise<never> {
  const state = run.store.state as NonNullable<typeof run.store.state>;
  const a = conflict.anchor;
  const p = conflict.proof;
  const path = await run.store.writeEvidence("anchor", {
    format: "patron-mirror-anchor-evidence/1",
    kind: "anchor",
    detectedAt: new Date().toISOString(),
    source: run.source.base,
    origin: state.origin,
    verifierKey: state.verifierKey,
    explanation: conflict.message,
    checkpoint: checkpointRecord(cp),
    anchor: {
      ...(a.chainId === undefined ? {} : { chainId: a.chainId }),
      contract: a.contract,
      size: a.size.toString(),
      root: a.root,
      ...(a.txHash ? { txHash: a.txHash } : {}),
      ...(a.blockNumber === undefined ? {} : { blockNumber: a.blockNumber.toString() }),
    },
    ...(p
      ? {
          consistencyProof: {
            from: p.from.toString(),
            to: p.to.toString(),
            proof: p.hashes.map(encodeHex),
            verifies: false,
          },
        }
      : {}),
    howToCheck:
      "checkpoint.note is a C2SP signed checkpoint that verifies under verifierKey (Ed25519, Go signed-note format); its root line is base64. The LedgerAnchor contract's rootAt(anchor.size) returns anchor.root (hex), written by the log's anchoring key in anchor.txHash. The same size must have the same root, and a smaller tree must be provably consistent (RFC 9162) with a larger one; these two are not, so the log showed the chain and this mirror different histories.",
  });
  throw new ForkAlarm(
    `ANCHOR CONFLICT: ${conflict.message} The mirror stopped at size ${state.size}; evidence (the signed checkpoint and the chain's anchor) saved in ${path}.`,
    path,
    "anchor",
  );
}
