import fc from "fast-check";
import jsonLogic from "json-logic-js";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../json.js";
import { EvaluationError } from "../problems.js";
import { compileLogic } from "./compile.js";
import { runLogic } from "./evaluate.js";

// json-logic-js, the reference implementation of classic JsonLogic, as an oracle: on generated
// integer rules, whenever this evaluator accepts a rule and gives a value, json-logic-js gives
// the same value. Where this evaluator refuses (at validation) or fails (NaN, a fraction, a
// list where a number goes), json-logic-js gives NaN or a value no implementation agrees on,
// which is why: those counts are printed and bounded below.

const KEYS = ["a", "b", "c", "s", "t", "n", "flag", "list", "words", "obj", "items"] as const;
const PATHS = [
  ...KEYS,
  "obj.x",
  "obj.y",
  "list.0",
  "list.2",
  "items.0.qty",
  "missing",
  "obj.missing",
];

const small = fc.integer({ min: -20, max: 20 });
const big = fc.constantFrom(9007199254740991, -9007199254740991, 4503599627370496, 3037000500);
const text = fc.constantFrom(
  "",
  "a",
  "ab",
  "b",
  "1",
  "-2",
  "10",
  "07",
  " 3 ",
  "x1",
  "1e2",
  "apple",
);
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 5, arbitrary: small },
  { weight: 1, arbitrary: big },
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

const data: fc.Arbitrary<Record<string, JsonValue>> = fc.record({
  a: small,
  b: small,
  c: fc.oneof(small, big),
  s: text,
  t: text,
  n: fc.constant(null),
  flag: fc.boolean(),
  list: fc.array(small, { maxLength: 5 }),
  words: fc.array(text, { maxLength: 4 }),
  obj: fc.record({ x: small, y: text }),
  items: fc.array(fc.record({ qty: small, sku: text }), { maxLength: 4 }),
});

/** Rules over the supported operators, with the argument forms validation accepts and some it does not. */
const rule: fc.Arbitrary<JsonValue> = fc.letrec<{
  expr: JsonValue;
  num: JsonValue;
  item: JsonValue;
}>((tie) => {
  const expr = tie("expr");
  const num = tie("num");
  const item = tie("item");
  // Arithmetic mostly over numbers, sometimes over anything.
  const operand = fc.oneof({ weight: 4, arbitrary: num }, { weight: 1, arbitrary: expr });
  const nums = (min: number, max: number) => fc.array(operand, { minLength: min, maxLength: max });
  const args = (min: number, max: number) => fc.array(expr, { minLength: min, maxLength: max });
  const op = (name: string, a: fc.Arbitrary<JsonValue[]>) => a.map((v) => ({ [name]: v }));
  const variable = fc.oneof(
    fc.constantFrom(...PATHS).map((p) => ({ var: p })),
    fc.tuple(fc.constantFrom(...PATHS), scalar).map(([p, d]) => ({ var: [p, d] })),
  );
  const list = fc.oneof(
    fc.constantFrom({ var: "list" }, { var: "words" }, { var: "items" }, { var: "missing" }),
    fc.array(scalar, { maxLength: 4 }),
  );
  return {
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { weight: 4, arbitrary: scalar },
      { weight: 4, arbitrary: variable },
      { weight: 1, arbitrary: op("if", args(0, 5)) },
      { weight: 1, arbitrary: op("?:", args(3, 3)) },
      ...["==", "===", "!=", "!==", ">", ">=", "<", "<="].map((o) => ({
        weight: 2,
        arbitrary: op(o, fc.oneof(args(2, 2), nums(2, 2))),
      })),
      ...["<", "<="].map((o) => ({
        weight: 1,
        arbitrary: op(o, fc.oneof(args(3, 3), nums(3, 3))),
      })),
      ...["!", "!!"].map((o) => ({ weight: 1, arbitrary: op(o, args(1, 1)) })),
      ...["and", "or"].map((o) => ({ weight: 1, arbitrary: op(o, args(1, 4)) })),
      { weight: 4, arbitrary: num },
      { weight: 1, arbitrary: op("cat", args(0, 3)) },
      { weight: 1, arbitrary: op("substr", args(2, 3)) },
      { weight: 1, arbitrary: op("in", fc.tuple(expr, fc.oneof(expr, list))) },
      { weight: 1, arbitrary: op("merge", args(0, 3)) },
      {
        weight: 1,
        arbitrary: op("missing", fc.array(fc.constantFrom(...PATHS), { maxLength: 3 })),
      },
      {
        weight: 1,
        arbitrary: op(
          "missing_some",
          fc.tuple(
            fc.integer({ min: 0, max: 3 }),
            fc.array(fc.constantFrom(...PATHS), { maxLength: 3 }),
          ),
        ),
      },
      ...["map", "filter", "all", "none", "some"].map((o) => ({
        weight: 1,
        arbitrary: op(o, fc.tuple(list, item)),
      })),
      {
        weight: 1,
        arbitrary: op(
          "reduce",
          fc.tuple(
            list,
            fc.constantFrom<JsonValue>(
              { "+": [{ var: "accumulator" }, { var: "current" }] },
              { max: [{ var: "accumulator" }, { var: "current.qty" }] },
              { cat: [{ var: "accumulator" }, { var: "current" }] },
            ),
            scalar,
          ),
        ),
      },
    ),
    num: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { weight: 4, arbitrary: small },
      { weight: 1, arbitrary: big },
      { weight: 1, arbitrary: fc.constantFrom("10", "-2", "07", " 3 ", "1e2") },
      {
        weight: 3,
        arbitrary: fc
          .constantFrom("a", "b", "c", "obj.x", "list.0", "items.0.qty")
          .map((p) => ({ var: p })),
      },
      ...["+", "*", "min", "max"].map((o) => ({ weight: 2, arbitrary: op(o, nums(1, 4)) })),
      { weight: 2, arbitrary: op("-", nums(1, 2)) },
      { weight: 2, arbitrary: op("%", nums(2, 2)) },
      { weight: 1, arbitrary: op("if", fc.tuple(expr, num, num)) },
    ),
    // Logic applied to each item of a list: reads the item.
    item: fc.oneof(
      fc.constantFrom<JsonValue>({ var: "" }, { var: "qty" }, { var: "sku" }, true),
      fc
        .tuple(
          fc.constantFrom(">", "<", "==", "==="),
          fc.constantFrom<JsonValue>({ var: "" }, { var: "qty" }),
          small,
        )
        .map(([o, v, n]) => ({ [o]: [v, n] })),
      fc.tuple(fc.constantFrom("+", "*", "%"), small).map(([o, n]) => ({ [o]: [{ var: "" }, n] })),
    ),
  };
}).expr;

/** JSON has no negative zero: this evaluator gives 0 where JavaScript gives -0. */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutNegativeZero);
  return v;
}

describe("differential: json-logic-js", () => {
  it("agrees on every value both give", () => {
    const counts = { values: 0, refused: 0, errors: 0, byCode: {} as Record<string, number> };
    fc.assert(
      fc.property(rule, data, (r, generated) => {
        // Plain objects, as JSON.parse makes them (fast-check's records have no prototype).
        const d = JSON.parse(JSON.stringify(generated)) as JsonValue;
        const compiled = compileLogic(r);
        if (!compiled.ok) {
          counts.refused++;
          return;
        }
        const expected: unknown = jsonLogic.apply(r as jsonLogic.RulesLogic, structuredClone(d));
        let got: JsonValue;
        try {
          got = runLogic(compiled.logic, d).value;
        } catch (e) {
          if (!(e instanceof EvaluationError)) throw e;
          counts.errors++;
          counts.byCode[e.code] = (counts.byCode[e.code] ?? 0) + 1;
          expect(["not_a_number", "not_an_integer", "overflow", "invalid_arguments"]).toContain(
            e.code,
          );
          return;
        }
        counts.values++;
        expect(got, JSON.stringify({ rule: r, data: d })).toStrictEqual(
          withoutNegativeZero(expected),
        );
      }),
      { numRuns: 20_000, seed: 20261201 },
    );
    console.log("differential against json-logic-js", counts);
    // Most generated rules are accepted and evaluated to the same value.
    expect(counts.values).toBeGreaterThan(10_000);
    expect(counts.values + counts.refused + counts.errors).toBe(20_000);
  });
});
