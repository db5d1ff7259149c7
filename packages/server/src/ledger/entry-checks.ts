import type { Worker } from "node:worker_threads";
import {
  CommandError,
  decodeEntry,
  type Entry,
  publicKeyFromEntryKey,
  verifyCommand,
  verifyEntrySignature,
} from "@patron/ledger";
import { startWorker } from "../worker-thread.js";
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

/**
 * What an entry's signatures say, alone: its signed command verifies, is the entry's actor's and
 * is addressed to this log; an old entry's signature verifies against the key it names. The
 * part of the audit that needs no other entry, so it can run on another thread.
 */
export function signatureProblems(entry: Entry, origin: string | undefined): string[] {
  const problems: string[] = [];
  if (entry.signed) {
    try {
      verifyCommand(entry.signed);
      if (entry.actor !== entry.signed.command.actor) {
        problems.push("its actor is not the signer of its command");
      }
      if (origin !== undefined && entry.signed.command.ledger !== origin) {
        problems.push(`its signed command is for the ledger "${entry.signed.command.ledger}"`);
      }
    } catch (err) {
      const why = err instanceof CommandError ? err.message : String(err);
      problems.push(`its signed command does not verify: ${why}`);
    }
  }
  if (entry.signature) {
    // Entries from before signed commands: checked against the key they name, when readable.
    const key = publicKeyFromEntryKey(entry.signature.key);
    if (key && !verifyEntrySignature(entry, key))
      problems.push("its entry signature does not verify");
  }
  return problems;
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
 * `ready` is false until the thread has loaded its modules (a good part of a second from
 * source), which the audit spends checking pages itself.
 */
export class EntryChecker {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (c: CheckedPage) => void; reject: (e: unknown) => void }[] =
    [];
  private failed: unknown;
  ready = false;
  /** Settles when the thread is ready to check pages. */
  readonly started: Promise<void>;
  /** Pages checked on the thread so far. */
  pages = 0;

  constructor() {
    this.worker = startWorker(import.meta.url, "./entry-checks-worker");
    let started = () => {};
    this.started = new Promise((resolve) => {
      started = resolve;
    });
    this.worker.on("message", (c: CheckedPage | "ready") => {
      if (c === "ready") {
        this.ready = true;
        started();
        return;
      }
      this.pages++;
      this.waiting.shift()?.resolve(c);
    });
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
    this.failed ??= new Error("the audit's checking thread is closed");
    for (const w of this.waiting.splice(0)) w.reject(this.failed);
  }
}
