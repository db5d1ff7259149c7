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

/** The entries of a mirror directory, as comparable plain values. */
export async function mirrored(dir: string) {
  const list = [];
  for await (const e of readMirroredEntries(dir)) {
    list.push({
      index: Number(e.index),
      leafHash: e.leafHash,
      canonical: Buffer.from(e.canonical).toString("base64"),
    });
  }
  return list;
}
