import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, stat, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  bytesEqual,
  type Checkpoint,
  decodeHex,
  encodeBase64,
  encodeHex,
  MerkleFrontier,
  parseVerifierKey,
  verifyCheckpoint,
} from "@patron/ledger";
import { MirrorError } from "./errors.js";

/** Entries per segment file. */
export const SEGMENT_ENTRIES = 10_000n;
/**
 * The format state.json is written in. Format 2 added entry lines that hold only a sealed
 * entry's leaf hash, and the `hashOnly` and `withApiKey` fields; a format-1 directory (every
 * line whole) is read as it is and written as format 2 on its next commit.
 */
const STATE_FORMAT = "patron-mirror/2";
const READABLE_FORMATS: readonly string[] = ["patron-mirror/1", STATE_FORMAT];

/** A checkpoint whose signature and origin were checked, with the signed note it came from. */
export interface MirrorCheckpoint extends Checkpoint {
  note: string;
}

/** What state.json records. Sizes are decimal strings (they may pass 2^53). */
interface StateFile {
  format: string;
  source: string;
  origin: string;
  verifierKey: string;
  size: string;
  root: string;
  checkpoint: string | null;
  frontier: string[];
  /** Committed bytes of the segment that holds index `size` (0 when it does not exist yet). */
  segmentBytes: number;
  /** Committed bytes of checkpoints.log. */
  checkpointsLogBytes: number;
  /** How many of the committed entries are held as a leaf hash only (absent in format 1: 0). */
  hashOnly?: string;
  /** Whether the last commit was made by a run with an API key (absent in format 1: false). */
  withApiKey?: boolean;
  updatedAt: string;
}

export interface MirrorState {
  source: string;
  origin: string;
  verifierKey: string;
  size: bigint;
  checkpoint?: MirrorCheckpoint;
  frontier: MerkleFrontier;
  segmentBytes: number;
  checkpointsLogBytes: number;
  /** Committed entries held as a sealed entry's leaf hash only, without their bytes. */
  hashOnly: bigint;
  /** Whether the last commit was made by a run with an API key. */
  withApiKey: boolean;
}

/** One verified entry waiting to be written: its line in the segment file. */
export interface StagedEntry {
  index: bigint;
  line: string;
  /** The line holds a sealed entry's leaf hash only. */
  hashOnly: boolean;
}

/**
 * An entry line: `{"index","leafHash","canonical"}` for a public entry (as format 1 wrote every
 * entry), the same with `"sealed":true` for a sealed entry held whole, and
 * `{"index","leafHash","sealed":true}` for a sealed entry held as its leaf hash only.
 */
export function entryLine(
  index: bigint,
  leafHash: string,
  canonical: string | undefined,
  sealed: boolean,
): StagedEntry {
  const record =
    canonical === undefined
      ? { index: Number(index), leafHash, sealed: true }
      : { index: Number(index), leafHash, canonical, ...(sealed ? { sealed: true } : {}) };
  return { index, line: `${JSON.stringify(record)}\n`, hashOnly: canonical === undefined };
}

export const segmentStart = (index: bigint) => index - (index % SEGMENT_ENTRIES);
const segmentName = (start: bigint) => `${start.toString().padStart(12, "0")}.ndjson`;
const SEGMENT_FILE = /^(\d+)\.ndjson$/;

function damaged(dir: string, why: string): never {
  throw new MirrorError("state", `the mirror in ${dir} is damaged: ${why}`);
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function appendDurably(path: string, data: string): Promise<number> {
  const fh = await open(path, "a");
  try {
    await fh.writeFile(data, "utf8");
    await fh.datasync();
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string) {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The mirror directory. Everything below `state.size` is verified and committed; whatever a
 * crash left past it (entry lines, checkpoint lines) is cut off when the directory is opened.
 * Order of a commit: entries, checkpoints.log, then state.json (atomically, by rename).
 */
export class MirrorStore {
  readonly dir: string;
  state?: MirrorState;
  #lock: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#lock = join(dir, ".lock");
  }

  get entriesDir() {
    return join(this.dir, "entries");
  }
  get statePath() {
    return join(this.dir, "state.json");
  }
  get checkpointsLog() {
    return join(this.dir, "checkpoints.log");
  }

  static async open(dir: string): Promise<MirrorStore> {
    const store = new MirrorStore(dir);
    await mkdir(store.entriesDir, { recursive: true });
    await store.#acquire();
    try {
      store.state = await store.#load();
      if (store.state) await store.#repair(store.state);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    await unlink(this.#lock).catch(() => {});
  }

  async #acquire(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(
          this.#lock,
          constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
        );
        await fh.writeFile(`${process.pid}\n`);
        await fh.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const pid = Number.parseInt(await readFile(this.#lock, "utf8").catch(() => ""), 10);
        if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
          throw new MirrorError(
            "state",
            `another mirror (process ${pid}) is using ${this.dir}; wait for it or stop it`,
          );
        }
        await unlink(this.#lock).catch(() => {});
      }
    }
    throw new MirrorError("state", `cannot lock ${this.dir}`);
  }

  async #load(): Promise<MirrorState | undefined> {
    let text: string;
    try {
      text = await readFile(this.statePath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let s: StateFile;
    try {
      s = JSON.parse(text) as StateFile;
    } catch {
      damaged(this.dir, "state.json is not JSON");
    }
    if (!READABLE_FORMATS.includes(s?.format)) {
      damaged(
        this.dir,
        `state.json is not in a format this version reads (${READABLE_FORMATS.join(", ")})`,
      );
    }
    if (typeof s.origin !== "string" || typeof s.source !== "string") {
      damaged(this.dir, "state.json names no origin or source");
    }
    try {
      parseVerifierKey(s.verifierKey);
    } catch (err) {
      damaged(this.dir, `state.json holds no valid verifier key (${(err as Error).message})`);
    }
    if (typeof s.size !== "string" || !/^(0|[1-9][0-9]*)$/.test(s.size)) {
      damaged(this.dir, "state.json has no valid size");
    }
    const size = BigInt(s.size);
    let frontier: MerkleFrontier;
    try {
      frontier = MerkleFrontier.fromNodes(size, s.frontier.map(decodeHex));
    } catch (err) {
      damaged(this.dir, `state.json has no valid tree frontier (${(err as Error).message})`);
    }
    let checkpoint: MirrorCheckpoint | undefined;
    if (s.checkpoint !== null) {
      try {
        checkpoint = {
          ...verifyCheckpoint(s.checkpoint, s.verifierKey, { origin: s.origin }),
          note: s.checkpoint,
        };
      } catch (err) {
        damaged(this.dir, `its checkpoint does not verify (${(err as Error).message})`);
      }
      if (checkpoint.size !== size || !bytesEqual(checkpoint.root, frontier.root())) {
        damaged(this.dir, "its checkpoint does not match its tree frontier");
      }
    } else if (size !== 0n) {
      damaged(this.dir, "state.json has entries but no checkpoint");
    }
    for (const n of [s.segmentBytes, s.checkpointsLogBytes]) {
      if (!Number.isSafeInteger(n) || n < 0) damaged(this.dir, "state.json has invalid file sizes");
    }
    const hashOnly = s.hashOnly ?? "0";
    if (
      typeof hashOnly !== "string" ||
      !/^(0|[1-9][0-9]*)$/.test(hashOnly) ||
      BigInt(hashOnly) > size
    ) {
      damaged(this.dir, "state.json has no valid count of entries held as hashes");
    }
    if (s.withApiKey !== undefined && typeof s.withApiKey !== "boolean") {
      damaged(this.dir, "state.json has an invalid withApiKey");
    }
    return {
      source: s.source,
      origin: s.origin,
      verifierKey: s.verifierKey,
      size,
      checkpoint,
      frontier,
      segmentBytes: s.segmentBytes,
      checkpointsLogBytes: s.checkpointsLogBytes,
      hashOnly: BigInt(hashOnly),
      withApiKey: s.withApiKey ?? false,
    };
  }

  /** Cuts off what an interrupted commit wrote past the committed state. */
  async #repair(s: MirrorState): Promise<void> {
    const current = segmentStart(s.size);
    for (const name of await readdir(this.entriesDir)) {
      const m = SEGMENT_FILE.exec(name);
      if (!m) continue;
      const start = BigInt(m[1] as string);
      const path = join(this.entriesDir, name);
      if (start > current || (start === current && s.segmentBytes === 0)) {
        await unlink(path);
      }
    }
    if (s.segmentBytes > 0) {
      const path = join(this.entriesDir, segmentName(current));
      const have = await fileSize(path);
      if (have === undefined || have < s.segmentBytes) {
        damaged(this.dir, `entries/${segmentName(current)} is shorter than state.json records`);
      }
      if (have > s.segmentBytes) await truncate(path, s.segmentBytes);
    }
    const have = (await fileSize(this.checkpointsLog)) ?? 0;
    if (have < s.checkpointsLogBytes) {
      damaged(this.dir, "checkpoints.log is shorter than state.json records");
    }
    if (have > s.checkpointsLogBytes) await truncate(this.checkpointsLog, s.checkpointsLogBytes);
  }

  /** First contact: pins the log's origin and key before anything is mirrored. */
  async init(
    source: string,
    origin: string,
    verifierKey: string,
    withApiKey: boolean,
  ): Promise<void> {
    await unlink(this.checkpointsLog).catch(() => {});
    for (const name of await readdir(this.entriesDir)) {
      if (SEGMENT_FILE.test(name)) await unlink(join(this.entriesDir, name));
    }
    const state: MirrorState = {
      source,
      origin,
      verifierKey,
      size: 0n,
      frontier: new MerkleFrontier(),
      segmentBytes: 0,
      checkpointsLogBytes: 0,
      hashOnly: 0n,
      withApiKey,
    };
    await this.#writeState(state);
    this.state = state;
  }

  /**
   * Appends verified entries (contiguous from the committed size up to `latest.size`), the
   * checkpoints verified along the way, and then moves the state to `latest`.
   */
  async commit(
    source: string,
    entries: readonly StagedEntry[],
    checkpoints: readonly MirrorCheckpoint[],
    latest: MirrorCheckpoint,
    frontier: MerkleFrontier,
    withApiKey: boolean,
  ): Promise<void> {
    const s = this.state;
    if (!s) throw new Error("mirror store not initialised");
    if (
      frontier.size !== latest.size ||
      BigInt(entries.length) !== latest.size - s.size ||
      (entries.length > 0 && entries[0]?.index !== s.size)
    ) {
      throw new Error("internal error: commit does not continue the committed state");
    }
    let segmentBytes = s.segmentBytes;
    let hashOnly = s.hashOnly;
    for (const e of entries) if (e.hashOnly) hashOnly++;
    let i = 0;
    while (i < entries.length) {
      const start = segmentStart((entries[i] as StagedEntry).index);
      let chunk = "";
      while (i < entries.length && segmentStart((entries[i] as StagedEntry).index) === start) {
        chunk += (entries[i] as StagedEntry).line;
        i++;
      }
      segmentBytes = await appendDurably(join(this.entriesDir, segmentName(start)), chunk);
    }
    if (latest.size % SEGMENT_ENTRIES === 0n) segmentBytes = 0;
    let lines = "";
    for (const cp of checkpoints) {
      lines += `${JSON.stringify({
        size: cp.size.toString(),
        root: encodeBase64(cp.root),
        verifiedAt: new Date().toISOString(),
        note: cp.note,
      })}\n`;
    }
    const checkpointsLogBytes =
      lines === "" ? s.checkpointsLogBytes : await appendDurably(this.checkpointsLog, lines);
    const next: MirrorState = {
      source,
      origin: s.origin,
      verifierKey: s.verifierKey,
      size: latest.size,
      checkpoint: latest,
      frontier: frontier.clone(),
      segmentBytes,
      checkpointsLogBytes,
      hashOnly,
      withApiKey,
    };
    await this.#writeState(next);
    this.state = next;
  }

  async #writeState(s: MirrorState): Promise<void> {
    const file: StateFile = {
      format: STATE_FORMAT,
      source: s.source,
      origin: s.origin,
      verifierKey: s.verifierKey,
      size: s.size.toString(),
      root: encodeBase64(s.frontier.root()),
      checkpoint: s.checkpoint?.note ?? null,
      frontier: s.frontier.hashes().map(encodeHex),
      segmentBytes: s.segmentBytes,
      checkpointsLogBytes: s.checkpointsLogBytes,
      hashOnly: s.hashOnly.toString(),
      withApiKey: s.withApiKey,
      updatedAt: new Date().toISOString(),
    };
    const tmp = `${this.statePath}.tmp`;
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(`${JSON.stringify(file, null, 2)}\n`, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.statePath);
    await syncDir(this.dir);
  }

  /**
   * Writes `<kind>-evidence-<time>.json` (never overwriting one) and returns its path. Evidence
   * is written and synced before the alarm is raised, and nothing else in the directory changes.
   */
  async writeEvidence(kind: "fork" | "anchor", record: object): Promise<string> {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    for (let n = 0; ; n++) {
      const path = join(this.dir, `${kind}-evidence-${stamp}${n === 0 ? "" : `-${n}`}.json`);
      try {
        const fh = await open(path, "wx");
        try {
          await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`, "utf8");
          await fh.sync();
        } finally {
          await fh.close();
        }
        await syncDir(this.dir);
        return path;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  }
}

/** One entry of the verified copy, as readMirroredEntries gives it back. */
export interface MirroredEntry {
  index: bigint;
  /** Lower-case hex SHA-256(0x00 ‖ canonical): the Merkle leaf. */
  leafHash: string;
  /** The entry's exact bytes; absent for a sealed entry held as its leaf hash only. */
  canonical?: Uint8Array;
  /** Whether the entry is sealed (always true when `canonical` is absent). */
  sealed: boolean;
}

/**
 * Reads the verified copy back, in index order: each entry's canonical bytes, or only the leaf
 * hash of a sealed entry the mirror was not allowed to read. Reads both directory formats.
 */
export async function* readMirroredEntries(dir: string): AsyncGenerator<MirroredEntry> {
  const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as StateFile;
  if (!READABLE_FORMATS.includes(state?.format)) {
    damaged(
      dir,
      `state.json is not in a format this version reads (${READABLE_FORMATS.join(", ")})`,
    );
  }
  const size = BigInt(state.size);
  const names = (await readdir(join(dir, "entries")))
    .filter((n) => SEGMENT_FILE.test(n))
    .sort((a, b) =>
      BigInt(a.split(".")[0] as string) < BigInt(b.split(".")[0] as string) ? -1 : 1,
    );
  let next = 0n;
  for (const name of names) {
    const text = await readFile(join(dir, "entries", name), "utf8");
    for (const line of text.split("\n")) {
      if (line === "" || next >= size) continue;
      const e = JSON.parse(line) as {
        index: number;
        leafHash: string;
        canonical?: string;
        sealed?: boolean;
      };
      if (BigInt(e.index) !== next) {
        throw new MirrorError("state", `entries/${name}: expected entry ${next}, found ${e.index}`);
      }
      if (typeof e.leafHash !== "string" || (e.canonical === undefined && e.sealed !== true)) {
        throw new MirrorError(
          "state",
          `entries/${name}: entry ${next} holds neither bytes nor a sealed leaf hash`,
        );
      }
      yield {
        index: next,
        leafHash: e.leafHash,
        ...(e.canonical === undefined
          ? {}
          : { canonical: new Uint8Array(Buffer.from(e.canonical, "base64")) }),
        sealed: e.sealed === true,
      };
      next++;
    }
  }
  if (next !== size) {
    throw new MirrorError("state", `the mirror holds ${next} entries, state.json says ${size}`);
  }
}
