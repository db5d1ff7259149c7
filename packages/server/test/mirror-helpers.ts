import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { vi } from "vitest";
import { readMirroredEntries } from "../src/mirror/mirror.js";

/** Runs `fn` with stdout and stderr captured. */
export async function captured<T>(fn: () => Promise<T>) {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    return { value: await fn(), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** An entry as comparable plain values: `canonical` is absent for a sealed entry's hash. */
export interface PlainEntry {
  index: number;
  leafHash: string;
  canonical?: string;
  sealed: boolean;
}

/** The entries of a mirror directory, as comparable plain values. */
export async function mirrored(dir: string): Promise<PlainEntry[]> {
  const list: PlainEntry[] = [];
  for await (const e of readMirroredEntries(dir)) {
    list.push({
      index: Number(e.index),
      leafHash: e.leafHash,
      ...(e.canonical ? { canonical: Buffer.from(e.canonical).toString("base64") } : {}),
      sealed: e.sealed,
    });
  }
  return list;
}

/** Every entry a node serves (to `apiKey`'s merchant, or to anyone), in the same form. */
export async function servedEntries(url: string, apiKey?: string): Promise<PlainEntry[]> {
  const all: PlainEntry[] = [];
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  for (let from = 0; ; ) {
    const res = await fetch(`${url}/v1/ledger/entries?from=${from}&limit=1000`, { headers });
    if (!res.ok) throw new Error(`GET entries answered ${res.status}`);
    const page = (await res.json()) as {
      entries: { index: number; leafHash: string; canonical?: string; sealed: boolean }[];
      next: number | null;
    };
    all.push(
      ...page.entries.map(({ index, leafHash, canonical, sealed }) => ({
        index,
        leafHash,
        ...(canonical === undefined ? {} : { canonical }),
        sealed,
      })),
    );
    if (page.next === null) return all;
    from = page.next;
  }
}

/**
 * Everything a mirror directory holds, as text: every file as it is, and the decoded bytes of
 * every entry line's `canonical`, so a search finds a payload value however it is stored.
 */
export function copyText(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else parts.push(readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  for (const text of [...parts]) {
    for (const line of text.split("\n")) {
      const m = /"canonical":"([^"]*)"/.exec(line);
      if (m) parts.push(Buffer.from(m[1] as string, "base64").toString("utf8"));
    }
  }
  return parts.join("\n");
}
