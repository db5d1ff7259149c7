import {
  consistencyProofFrom,
  type Entry,
  type NodeReader,
  type NoteVerifier,
  verifyCheckpoint,
  verifyConsistency,
} from "@patron/ledger";
import type { Queryable } from "../db/database.js";
import { EntryAuditor } from "./audit-entries.js";
import { type CheckedPage, checkEntryPage, EntryChecker, entryPage } from "./entry-checks.js";
import { nativeNoteVerifier } from "./native-signer.js";
import { equalBytes } from "./sequencer.js";
import {
  type AuditedEntry,
  listCheckpoints,
  listEntriesToAudit,
  listTiles,
  type StoredCheckpoint,
} from "./store.js";
import { readerFromTiles, TILE_WIDTH, TileNodes, TreeEdge, tileId } from "./tiles.js";

export interface AuditProblem {
  kind: "entry" | "checkpoint" | "tile" | "log" | "anchor" | "projection" | "chain" | "invariant";
  /** Entry index, checkpoint size, or tile id. */
  at: string;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  origin: string;
  entries: number;
  checkpoints: number;
  tiles: number;
  /** Anchors checked on the chain (0 when no chain was given). */
  anchors: number;
  problems: AuditProblem[];
  seconds: number;
}

export interface AuditOptions {
  origin: string;
  verifierKey: string;
  /** Called every page with entries done and the total to do. */
  progress?: (done: bigint, total: bigint) => void;
  pageSize?: number;
  /** Stop after this many problems (the first one is what matters most). */
  maxProblems?: number;
  /** The anchors on the chain, to check against the log's checkpoints. */
  anchors?: () => Promise<{ size: bigint; root: string; txHash: string }[]>;
  /** Makes the checks of each decoded entry: signatures, chains, sealing, domain invariants. */
  entries?: () => EntryAuditor;
  /**
   * Check entries on a second thread while this one walks the log (default: from 20,000
   * entries, where it pays for starting the thread).
   */
  threads?: boolean;
  /** The thread to check entries on, started by the caller (who closes it); implies `threads`. */
  checker?: EntryChecker;
}

/**
 * Replays the log from its stored bytes alone: recomputes every leaf hash, rebuilds the tree,
 * checks every checkpoint's signature and root, proves each checkpoint consistent with the one
 * before, and compares every stored tree tile with the rebuilt one. Trusts nothing it reads.
 */
export async function auditLedger(db: Queryable, opts: AuditOptions): Promise<AuditReport> {
  const started = performance.now();
  const page = opts.pageSize ?? 5000;
  const maxProblems = opts.maxProblems ?? 20;
  const problems: AuditProblem[] = [];
  const report = (p: AuditProblem) => {
    if (problems.length < maxProblems) problems.push(p);
  };

  const entryAudit = opts.entries?.() ?? new EntryAuditor([]);
  // Natively: a log written in small batches has a checkpoint every few entries. A key that
  // cannot be read is left to verifyCheckpoint, which names what is wrong with it.
  let verifier: string | NoteVerifier = opts.verifierKey;
  try {
    verifier = nativeNoteVerifier(opts.verifierKey);
  } catch {
    // reported at the first checkpoint
  }
  const { rows } = await db.query("SELECT count(*)::bigint AS n FROM ledger_entries");
  const total = BigInt(String(rows[0]?.n ?? 0));
  const edge = TreeEdge.empty();
  const full = new Map<string, TileNodes>();
  const collectFullTiles = () => {
    for (const t of edge.takeDirty()) {
      if (t.hashes.length === TILE_WIDTH * 32)
        full.set(tileId(t.level, t.index), new TileNodes(t.hashes));
    }
  };
  const readerNow = (): NodeReader => {
    collectFullTiles();
    const partial = edge.partialTileNodes();
    return readerFromTiles((id) => partial.get(id) ?? full.get(id));
  };

  let checkpoints: StoredCheckpoint[] = await listCheckpoints(db, 0n, page);
  let cpCount = 0;
  let previous: StoredCheckpoint | undefined;
  let previousRebuilt = false;
  // The chain's anchors are read first, so only the roots of anchored sizes are kept while the
  // log is replayed (a root per checkpoint would grow with the log).
  const events = opts.anchors ? await opts.anchors() : [];
  const anchoredSizes = new Set(events.map((a) => a.size));
  const verifiedRoots = new Map<bigint, string>();

  const checkCheckpoint = (cp: StoredCheckpoint) => {
    cpCount++;
    const at = cp.size.toString();
    let signed: ReturnType<typeof verifyCheckpoint> | undefined;
    try {
      signed = verifyCheckpoint(cp.note, verifier, { origin: opts.origin });
    } catch (err) {
      report({
        kind: "checkpoint",
        at,
        message: `signature does not verify: ${(err as Error).message}`,
      });
    }
    const root = edge.root();
    if (signed && (signed.size !== cp.size || !equalBytes(signed.root, cp.root))) {
      report({
        kind: "checkpoint",
        at,
        message: "the signed note does not match the stored size and root",
      });
    }
    const rebuilt = equalBytes(root, cp.root);
    if (!rebuilt) {
      report({
        kind: "checkpoint",
        at,
        message: "its root differs from the tree rebuilt from the entries",
      });
    } else if (signed && signed.size === cp.size && equalBytes(signed.root, cp.root)) {
      if (anchoredSizes.has(cp.size)) {
        verifiedRoots.set(cp.size, Buffer.from(cp.root).toString("hex"));
      }
    }
    // Two roots of the tree rebuilt here are consistent by construction; a proof can only tell
    // something about a checkpoint whose root is not the rebuilt one.
    if (previous && previous.size > 0n && !(rebuilt && previousRebuilt)) {
      const proof = consistencyProofFrom(readerNow(), previous.size, cp.size);
      if (!verifyConsistency(previous.size, cp.size, proof, previous.root, cp.root)) {
        report({
          kind: "checkpoint",
          at,
          message: `not consistent with the previous checkpoint at size ${previous.size}`,
        });
      }
    }
    previous = cp;
    previousRebuilt = rebuilt;
  };

  const nextCheckpoint = async () => {
    checkpoints.shift();
    if (checkpoints.length === 0 && previous)
      checkpoints = await listCheckpoints(db, previous.size, page);
  };

  // A checkpoint of the empty tree, if any, comes before every entry.
  while (checkpoints[0] && checkpoints[0].size === 0n) {
    checkCheckpoint(checkpoints[0]);
    await nextCheckpoint();
  }

  let expected = 0n;
  // The checks that need no other entry (hashes, canonical form, signatures) run on a second
  // thread, a page ahead of this one, which walks the log in order: chains, tree, checkpoints.
  const threaded = opts.checker !== undefined || (opts.threads ?? total >= 20_000n);
  const checker = opts.checker ?? (threaded ? new EntryChecker() : undefined);
  const check = (entries: AuditedEntry[]) => {
    const pageOf = entryPage(entries, entryAudit.origin);
    const checked = checker?.ready
      ? checker.check(pageOf)
      : Promise.resolve(checkEntryPage(pageOf, true));
    // Awaited later, while other I/O runs: a failed thread must not count as unhandled.
    checked.catch(() => {});
    return checked;
  };
  try {
    // Three pages in flight: page N is replayed here while N+1 is checked on the other thread
    // and N+2 is read from the database.
    const read = (from: bigint) => {
      const rows = from < total ? listEntriesToAudit(db, from, from + BigInt(page)) : undefined;
      // Awaited on the next turn, or never if the audit stops early.
      rows?.catch(() => {});
      return rows;
    };
    let entries = await listEntriesToAudit(db, 0n, BigInt(page));
    let checked = check(entries);
    let reading = read(BigInt(entries.length));
    while (entries.length > 0) {
      const next = (await reading) ?? [];
      const nextChecked = next.length > 0 ? check(next) : undefined;
      reading = next.length > 0 ? read(expected + BigInt(entries.length + next.length)) : undefined;
      const done = await replay(entries, await checked);
      if (done) return finish();
      collectFullTiles();
      opts.progress?.(expected, total);
      entries = next;
      if (nextChecked) checked = nextChecked;
    }
  } finally {
    if (!opts.checker) await checker?.close();
  }
  for (const cp of checkpoints) {
    report({
      kind: "checkpoint",
      at: cp.size.toString(),
      message: `covers more entries than the ${expected} stored`,
    });
  }
  if (!previous && total > 0n) {
    report({ kind: "log", at: "", message: "the log has entries but no checkpoint" });
  } else if (previous && previous.size !== total) {
    report({
      kind: "log",
      at: previous.size.toString(),
      message: `the last checkpoint covers ${previous.size} of ${total} entries`,
    });
  }
  entryAudit.finish(report);
  const tiles = await compareTiles();
  const anchors = await compareAnchors();
  return finish(tiles, anchors);

  /** Walks a checked page in index order; true when the audit must stop there. */
  async function replay(entries: AuditedEntry[], checked: CheckedPage): Promise<boolean> {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as AuditedEntry;
      if (e.index !== expected) {
        report({
          kind: "entry",
          at: expected.toString(),
          message: `missing (the next stored index is ${e.index})`,
        });
        return true;
      }
      const at = e.index.toString();
      const leaf = checked.leaves.subarray(32 * i, 32 * i + 32);
      if (!equalBytes(leaf, e.leafHash)) {
        report({ kind: "entry", at, message: "its bytes do not hash to the stored leaf hash" });
      }
      const malformed = checked.malformed[i];
      if (malformed !== undefined) {
        report({ kind: "entry", at, message: `not a canonical entry: ${malformed}` });
      } else {
        if (checked.columns[i]) {
          report({ kind: "entry", at, message: "stored type or actor differs from its bytes" });
        }
        // Checked to be a canonical entry (on the other thread, if any): parsing is all it takes.
        const decoded = checked.entries?.[i] ?? (JSON.parse(utf8(e.data)) as Entry);
        try {
          entryAudit.visit(e.index, decoded, report, checked.signatures[i]);
        } catch (err) {
          report({
            kind: "entry",
            at,
            message: `not a canonical entry: ${(err as Error).message}`,
          });
        }
      }
      // The tree is rebuilt from the bytes, so a tampered entry also shows in every later root.
      edge.append(leaf);
      expected++;
      while (checkpoints[0] && checkpoints[0].size === edge.size) {
        checkCheckpoint(checkpoints[0]);
        await nextCheckpoint();
      }
      if (problems.length >= maxProblems) return true;
    }
    return false;
  }

  async function compareAnchors(): Promise<number> {
    for (const a of events) {
      const mine = verifiedRoots.get(a.size);
      const theirs = a.root.replace(/^0x/, "").toLowerCase();
      if (!mine) {
        report({
          kind: "anchor",
          at: a.size.toString(),
          message: `anchored on chain (tx ${a.txHash}) but the log has no valid checkpoint at that size`,
        });
      } else if (mine !== theirs) {
        report({
          kind: "anchor",
          at: a.size.toString(),
          message: `the chain anchors root ${theirs} (tx ${a.txHash}) but the log's checkpoint root is ${mine}`,
        });
      }
    }
    return events.length;
  }

  async function compareTiles(): Promise<number> {
    collectFullTiles();
    const rebuilt = new Map([...full, ...edge.partialTileNodes()]);
    // The partial tile of leaf hashes is not stored (the entries hold it), so it is not
    // expected; one stored before it stopped being stored must be a prefix of the rebuilt one.
    let leafTile: { id: string; tile: TileNodes } | undefined;
    for (const [id, tile] of rebuilt) {
      if (id.startsWith("0/") && tile.width < TILE_WIDTH) leafTile = { id, tile };
    }
    if (leafTile) rebuilt.delete(leafTile.id);
    let count = 0;
    let after: { level: number; index: bigint } | undefined;
    for (;;) {
      const stored = await listTiles(db, after, 1000);
      if (stored.length === 0) break;
      for (const t of stored) {
        count++;
        const id = tileId(t.level, t.index);
        const prefix = leafTile?.id === id && t.hashes.length < TILE_WIDTH * 32;
        const mine = prefix
          ? new TileNodes((leafTile as { tile: TileNodes }).tile.bottom.slice(0, t.hashes.length))
          : rebuilt.get(id);
        rebuilt.delete(id);
        if (!mine) {
          report({
            kind: "tile",
            at: id,
            message: "stored, but the rebuilt tree has no such tile",
          });
          continue;
        }
        const bad = firstDifference(mine.bottom, t.hashes);
        if (bad !== undefined) {
          const level = t.level * 8;
          const node = t.index * BigInt(TILE_WIDTH) + BigInt(bad);
          report({
            kind: "tile",
            at: id,
            message: `hash ${bad} (tree node at level ${level}, index ${node}) differs from the rebuilt tree`,
          });
        }
      }
      const last = stored[stored.length - 1];
      after = last ? { level: last.level, index: last.index } : undefined;
    }
    for (const id of rebuilt.keys())
      report({ kind: "tile", at: id, message: "missing from the store" });
    return count;
  }

  function finish(tiles = 0, anchors = 0): AuditReport {
    return {
      ok: problems.length === 0,
      origin: opts.origin,
      entries: Number(expected),
      checkpoints: cpCount,
      tiles,
      anchors,
      problems,
      seconds: (performance.now() - started) / 1000,
    };
  }
}

const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

function firstDifference(a: Uint8Array, b: Uint8Array): number | undefined {
  const n = Math.max(a.length, b.length) / 32;
  for (let i = 0; i < n; i++) {
    if (!equalBytes(a.subarray(i * 32, i * 32 + 32), b.subarray(i * 32, i * 32 + 32))) return i;
  }
  return undefined;
}
