import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkData, compileLogic, EvaluationError, type JsonValue, runLogic } from "./index.js";

// The JsonLogic suites, vendored byte for byte: see conformance/jsonlogic/README.md and
// conformance/README.md (what Patron runs and why some cases are refused).
const ROOT = fileURLToPath(new URL("../conformance/jsonlogic/", import.meta.url));
const read = (path: string): unknown[] => JSON.parse(readFileSync(`${ROOT}${path}`, "utf8"));

/** Operators of the newer JsonLogic, not classic: cases using them are skipped. */
const NOT_CLASSIC = new Set(["val", "??", "exists", "throw", "try", "preserve"]);

/** The reasons a case may be refused by validation (docs/rules.md, "Conformance"). */
const REFUSALS = new Set([
  "unsupported_operator",
  "not_an_integer",
  "arguments",
  "ambiguous",
  "not_a_number",
]);

/** Which evaluation errors answer which expected error type. */
const ERRORS: Record<string, string[]> = {
  NaN: ["not_a_number", "not_an_integer", "overflow"],
  "Invalid Arguments": ["invalid_arguments"],
};

interface Case {
  suite: string;
  rule: unknown;
  data: unknown;
  expected: { result: JsonValue } | { error: string };
}

function operators(rule: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(rule)) for (const r of rule) operators(r, into);
  else if (typeof rule === "object" && rule !== null) {
    for (const [k, v] of Object.entries(rule)) {
      into.add(k);
      operators(v, into);
    }
  }
  return into;
}

function classicCases(): Case[] {
  return read("jsonlogic-com/tests.json")
    .filter((c) => typeof c !== "string")
    .map((c) => {
      const [rule, data, result] = c as [unknown, unknown, JsonValue];
      return { suite: "jsonlogic-com/tests.json", rule, data, expected: { result } };
    });
}

function compatCases(file: string): Case[] {
  return read(`compat-tables/${file}`)
    .filter((c) => typeof c !== "string")
    .map((c) => {
      const k = c as {
        rule: unknown;
        data?: unknown;
        result?: JsonValue;
        error?: { type: string };
      };
      return {
        suite: `compat-tables/${file}`,
        rule: k.rule,
        data: k.data ?? null,
        expected: k.error ? { error: k.error.type } : { result: k.result as JsonValue },
      };
    });
}

type Outcome =
  | { kind: "skipped"; why: string }
  | { kind: "refused"; code: string; errorExpected: boolean }
  | { kind: "data refused"; code: string }
  | { kind: "value" }
  | { kind: "error"; code: string };

function run(c: Case): Outcome {
  const foreign = [...operators(c.rule)].filter((op) => NOT_CLASSIC.has(op));
  if (foreign.length > 0) return { kind: "skipped", why: foreign.sort().join(",") };
  const compiled = compileLogic(c.rule);
  if (!compiled.ok) {
    const code = compiled.errors[0]?.code as string;
    expect(
      REFUSALS,
      `${JSON.stringify(c.rule)} refused: ${JSON.stringify(compiled.errors)}`,
    ).toContain(code);
    return { kind: "refused", code, errorExpected: "error" in c.expected };
  }
  const dataProblems = checkData(c.data);
  if (dataProblems.length > 0) {
    const code = dataProblems[0]?.code as string;
    expect(code).toBe("not_an_integer");
    return { kind: "data refused", code };
  }
  try {
    const { value } = runLogic(compiled.logic, c.data);
    expect(
      "result" in c.expected,
      `${JSON.stringify(c.rule)} gave ${JSON.stringify(value)}, expected an error`,
    ).toBe(true);
    expect(value).toStrictEqual((c.expected as { result: JsonValue }).result);
    return { kind: "value" };
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    expect("error" in c.expected, `${JSON.stringify(c.rule)} failed: ${e.message}`).toBe(true);
    const want = (c.expected as { error: string }).error;
    expect(ERRORS[want], `${JSON.stringify(c.rule)}: ${e.code}`).toContain(e.code);
    return { kind: "error", code: e.code };
  }
}

function tally(cases: Case[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of cases) {
    const o = run(c);
    const key =
      o.kind === "skipped"
        ? "skipped: newer operators"
        : o.kind === "refused"
          ? `refused: ${o.code}${o.errorExpected ? " (an error was expected)" : ""}`
          : o.kind === "data refused"
            ? `data refused: ${o.code}`
            : o.kind === "error"
              ? "evaluated: the error expected"
              : "evaluated: the value expected";
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// Exact counts, so that a change in what is evaluated or refused shows here (and the suites
// cannot pass by running nothing). docs/rules.md explains each refusal.

describe("jsonlogic.com tests.json (the official suite)", () => {
  it("evaluates 272 of its 277 cases to the expected value; refuses 2 floats and 3 divisions", () => {
    const cases = classicCases();
    const counts = tally(cases);
    console.log("tests.json", counts);
    expect(cases).toHaveLength(277);
    expect(counts).toEqual({
      "evaluated: the value expected": 272,
      "refused: not_an_integer": 2,
      "refused: unsupported_operator": 3,
    });
  });
});

describe("compat-tables", () => {
  const files = read("compat-tables/index.json") as string[];

  it("lists 48 suites", () => {
    expect(files).toHaveLength(48);
  });

  it("compatible.json: evaluates 273 of 278 to the expected value; refuses 2 floats and 3 divisions", () => {
    const counts = tally(compatCases("compatible.json"));
    console.log("compatible.json", counts);
    expect(counts).toEqual({
      "evaluated: the value expected": 273,
      "refused: not_an_integer": 2,
      "refused: unsupported_operator": 3,
    });
  });

  it("the per-operator suites: every classic case evaluated as expected or refused for a documented reason", () => {
    const perFile: Record<string, Record<string, number>> = {};
    const total: Record<string, number> = {};
    let cases = 0;
    for (const f of files.filter((f) => f !== "compatible.json")) {
      const suite = compatCases(f);
      cases += suite.length;
      perFile[f] = tally(suite);
      for (const [k, n] of Object.entries(perFile[f])) total[k] = (total[k] ?? 0) + n;
    }
    console.log("compat-tables per suite", perFile);
    console.log("compat-tables, 47 suites", total);
    expect(cases).toBe(860);
    expect(Object.fromEntries(Object.entries(total).sort(([a], [b]) => (a < b ? -1 : 1)))).toEqual({
      "evaluated: the error expected": 39,
      "evaluated: the value expected": 461,
      "refused: ambiguous": 17,
      "refused: ambiguous (an error was expected)": 3,
      "refused: arguments": 21,
      "refused: arguments (an error was expected)": 62,
      "refused: not_a_number": 17,
      "refused: not_a_number (an error was expected)": 12,
      "refused: not_an_integer": 4,
      "refused: unsupported_operator": 18,
      "refused: unsupported_operator (an error was expected)": 12,
      "skipped: newer operators": 194,
    });
  });
});
