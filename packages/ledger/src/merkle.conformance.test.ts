import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { verifyConsistency, verifyInclusion } from "./merkle.js";

// transparency-dev/merkle's verifier test vectors, vendored unchanged (see conformance/README.md).
const ROOT = fileURLToPath(new URL("../conformance/merkle/", import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) =>
      d.isDirectory()
        ? jsonFiles(join(dir, d.name))
        : d.name.endsWith(".json")
          ? [join(dir, d.name)]
          : [],
    )
    .sort();
}

// Node's decoder here, not the library's: the vectors must not be read by the code under test.
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr?: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr?: boolean;
}

const load = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;
const cases = (sub: string) =>
  jsonFiles(join(ROOT, sub)).map((f) => [relative(ROOT, f), f] as const);

const inclusion = cases("inclusion");
const consistency = cases("consistency");

describe("RFC 9162 conformance vectors", () => {
  it("finds the vector folders", () => {
    expect(inclusion.length).toBeGreaterThan(50);
    expect(consistency.length).toBeGreaterThan(50);
  });

  it.each(inclusion)("%s", (_name, file) => {
    const v = load<InclusionVector>(file);
    const ok = verifyInclusion(
      v.leafIdx,
      v.treeSize,
      b64(v.leafHash),
      (v.proof ?? []).map(b64),
      b64(v.root),
    );
    expect(ok, v.desc).toBe(!v.wantErr);
  });

  it.each(consistency)("%s", (_name, file) => {
    const v = load<ConsistencyVector>(file);
    const ok = verifyConsistency(
      v.size1,
      v.size2,
      (v.proof ?? []).map(b64),
      b64(v.root1),
      b64(v.root2),
    );
    expect(ok, v.desc).toBe(!v.wantErr);
  });
});
