import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalJson } from "./canonical.js";
import { isCanonicalText } from "./json.js";

// RFC 8785 vectors (cyberphone/json-canonicalization testdata and RFC 8785 Appendix B), vendored
// unchanged: see conformance/jcs/README.md.
const ROOT = fileURLToPath(new URL("../conformance/jcs/", import.meta.url));

// Node's own readers and decoders, so the vectors are not read by the code under test.
const raw = (path: string) => new Uint8Array(readFileSync(`${ROOT}${path}`));
const fromHexDump = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));

const names = readdirSync(`${ROOT}input`)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

interface NumberSample {
  ieee754: string;
  expected: string | null;
  comment: string;
}

const samples = JSON.parse(
  readFileSync(`${ROOT}number-samples/rfc8785-appendix-b.json`, "utf8"),
) as NumberSample[];

function float64(hex: string): number {
  const b = Buffer.from(hex, "hex");
  expect(b.length).toBe(8);
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
}

describe("RFC 8785 canonicalization pairs", () => {
  it("finds all six cases", () => {
    expect(names).toEqual(["arrays", "french", "structures", "unicode", "values", "weird"]);
  });

  it.each(names)("%s: canonical bytes equal output/ and outhex/", (name) => {
    const input = readFileSync(`${ROOT}input/${name}.json`, "utf8");
    const expected = raw(`output/${name}.json`);
    const got = canonicalBytes(JSON.parse(input));
    expect(Buffer.from(got).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
    expect(got).toEqual(fromHexDump(readFileSync(`${ROOT}outhex/${name}.txt`, "utf8")));
  });
});

describe("RFC 8785 Appendix B number samples", () => {
  it("has the 26 rows of Table 1, two of them not JSON numbers", () => {
    expect(samples).toHaveLength(26);
    expect(samples.filter((s) => s.expected === null).map((s) => s.ieee754)).toEqual([
      "7fffffffffffffff",
      "7ff0000000000000",
    ]);
  });

  const serializable = samples.filter((s) => s.expected !== null);
  it.each(serializable.map((s) => [s.ieee754, s.expected, s.comment.trim()] as const))(
    "%s serializes to %s (%s)",
    (hex, expected) => {
      expect(canonicalJson(float64(hex))).toBe(expected);
      // The same text inside a document, where a serializer could take another path.
      expect(canonicalJson({ n: [float64(hex)] })).toBe(`{"n":[${expected}]}`);
    },
  );

  const refused = samples.filter((s) => s.expected === null);
  it.each(refused.map((s) => [s.ieee754, s.comment.trim()] as const))(
    "%s (%s) is refused",
    (hex) => {
      expect(() => canonicalJson(float64(hex))).toThrow(TypeError);
      expect(() => canonicalJson({ n: float64(hex) })).toThrow(TypeError);
    },
  );
});

describe("RFC 8785 pairs through the check decodeEntry makes", () => {
  it.each(names)("%s: output/ is canonical, input/ is not", (name) => {
    const input = readFileSync(`${ROOT}input/${name}.json`, "utf8");
    const output = readFileSync(`${ROOT}output/${name}.json`, "utf8");
    expect(isCanonicalText(JSON.parse(output), output)).toBe(true);
    expect(isCanonicalText(JSON.parse(input), input)).toBe(false);
  });
});
