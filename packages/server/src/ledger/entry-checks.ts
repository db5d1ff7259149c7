import type { Worker } from "node:worker_threads";
import { decodeEntry, type Entry } from "@patron/ledger";
import { startWorker } from "../worker-thread.js";
import { signatureProblems } from "./audit-entries.js";
import { hashLeafNative } from "./hash.js";

/** Packs stored entries into a page to check (one buffer: it moves to the thread uncopied). */
export function entryPage(
  entries: readonly { data: Uint8Array; type: string; actor: string }[],
  origin: string | undefined,
): EntryPage {
  let size = 0;
  for (const e of entries) size += e.data.byteLength;
  const data = new Uint8Array(size);
  const ends = new Uint32Array(entries.length);
  let at = 0;
  entries.forEach((e, i) => {
    data.set(e.data, at);
    at += e.data.byteLength;
    ends[i] = at;
  });
  return {
    data,
    ends,
    types: entries.map((e) => e.type),
    actors: entries.map((e) => e.actor),
    ...(origin !== undefined ? { origin } : {}),
  };
}

/** A page of stored entries, as `audit` sends it to a checking thread. */
export interface EntryPage {
  /** The entries' bytes, one after the other; entry i ends at `ends[i]`. */
  data: Uint8Array;
  ends: Uint32Array;
  /** The indexed columns stored beside each entry, which must match its bytes. */
  types: string[];
  actors: string[];
  /** The log's origin, that signed commands must be addressed to (when known). */
  origin?: string;
}

/** What the checks found, entry by entry. */
export interface CheckedPage {
  /** Leaf hash of entry i at 32·i. */
  leaves: Uint8Array;
  /** Entry i is not a canonical entry: its problem; such an entry gets no other check. */
  malformed: (string | undefined)[];
  /** Entry i's stored type or actor differs from its bytes. */
  columns: boolean[];
  /** Entry i's signature problems (see `signatureProblems`). */
  signatures: string[][];
  /** The decoded entries, when checked on the thread that uses them (never sent across). */
  entries?: (Entry | undefined)[];
}

/**
 * The checks of an entry that need no other entry: its leaf hash, its canonical form and
 * shape, its indexed columns and its signatures. They are most of the audit's work, and run on
 * another thread while the audit walks the log in order.
 */
export function checkEntryPage(page: EntryPage, keep = false): CheckedPage {
  const n = page.ends.length;
  const leaves = new Uint8Array(32 * n);
  const malformed: (string | undefined)[] = new Array(n);
  const columns: boolean[] = new Array(n).fill(false);
  const signatures: string[][] = new Array(n);
  const entries: (Entry | undefined)[] | undefined = keep ? new Array(n) : undefined;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = page.ends[i] as number;
    const data = page.data.subarray(start, end);
    start = end;
    leaves.set(hashLeafNative(data), 32 * i);
    try {
      const entry = decodeEntry(data);
      if (entries) entries[i] = entry;
      columns[i] = entry.type !== page.types[i] || entry.actor !== page.actors[i];
      signatures[i] = signatureProblems(entry, page.origin);
    } catch (err) {
      malformed[i] = (err as Error).message;
      signatures[i] = [];
    }
  }
  return { leaves, malformed, columns, signatures, ...(entries ? { entries } : {}) };
}

/**
 * Checks pages on a worker thread, answering in the order they were sent; `close` ends it.
 */
export class EntryChecker {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (c: CheckedPage) => void; reject: (e: unknown) => void }[] =
    [];
  private failed: unknown;

  constructor() {
    this.worker = startWorker(import.meta.url, "./entry-checks-worker");
    this.worker.on("message", (c: CheckedPage) => this.waiting.shift()?.resolve(c));
    const fail = (err: unknown) => {
      this.failed = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) =>
      fail(new Error(`the audit's checking thread exited (${code})`)),
    );
  }

  check(page: EntryPage): Promise<CheckedPage> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(page, [
        page.data.buffer as ArrayBuffer,
        page.ends.buffer as ArrayBuffer,
      ]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}
