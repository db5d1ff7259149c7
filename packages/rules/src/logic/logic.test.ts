import { describe, expect, it } from "vitest";
import type { JsonValue } from "../json.js";
import {
  DepthLimitError,
  EvaluationError,
  RuleValidationError,
  StepBudgetError,
} from "../problems.js";
import { compileLogic, LOGIC_LIMITS } from "./compile.js";
import { evaluateLogic, runLogic } from "./evaluate.js";

const ROOTS = ["order", "customer", "event", "time"];

function refusal(logic: unknown, options: Parameters<typeof compileLogic>[1] = {}) {
  const r = compileLogic(logic, options);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(logic)}`);
  return r.errors;
}

function failure(logic: unknown, data: unknown = null, options = {}): EvaluationError {
  try {
    evaluateLogic(logic, data, options);
  } catch (e) {
    if (e instanceof EvaluationError) return e;
    throw e;
  }
  throw new Error(`evaluated: ${JSON.stringify(logic)}`);
}

const value = (logic: unknown, data: unknown = null) => evaluateLogic(logic, data).value;

/** `{"+": [1, {"+": [1, ...]}]}`, `depth` operations deep. */
function nested(depth: number): JsonValue {
  let e: JsonValue = 1;
  for (let i = 0; i < depth; i++) e = { "+": [1, e] };
  return e;
}

describe("bounds", () => {
  it("stops at the step budget with a typed error, wherever the steps are spent", () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    const logic = { map: [{ var: "xs" }, { map: [{ var: "" }, { "+": [1, 1] }] }] };
    const ok = evaluateLogic(
      { reduce: [{ var: "xs" }, { "+": [{ var: "accumulator" }, 1] }, 0] },
      { xs: items },
    );
    expect(ok.value).toBe(200);
    expect(ok.steps).toBeLessThan(LOGIC_LIMITS.steps);
    const deep = { xs: items.map(() => items) };
    const e = failure(logic, deep);
    expect(e).toBeInstanceOf(StepBudgetError);
    expect(e.code).toBe("steps");
    expect((e as StepBudgetError).budget).toBe(10_000);
    // A smaller budget stops earlier; the same evaluation always stops at the same place.
    const small = failure({ "+": [1, 2, 3, 4] }, null, { steps: 3 });
    expect(small).toBeInstanceOf(StepBudgetError);
    expect(small.message).toBe(failure({ "+": [1, 2, 3, 4] }, null, { steps: 3 }).message);
    expect(evaluateLogic({ "+": [1, 2, 3, 4] }, null, { steps: 5 }).value).toBe(10);
  });

  it("charges merge and in by the length of the lists they go through", () => {
    const xs = Array.from({ length: 5000 }, (_, i) => i);
    expect(evaluateLogic({ in: [4999, { var: "xs" }] }, { xs }).steps).toBeGreaterThan(5000);
    const e = failure({ merge: [{ var: "xs" }, { var: "xs" }, { var: "xs" }] }, { xs });
    expect(e).toBeInstanceOf(StepBudgetError);
  });

  it("refuses nesting beyond the depth limit when validating, with the path where it goes too deep", () => {
    expect(compileLogic(nested(31)).ok).toBe(true);
    const errors = refusal(nested(40));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe("too_deep");
    expect(errors[0]?.path).toBe(Array.from({ length: 32 }, () => "+.1").join("."));
    // Lists count as levels too.
    expect(refusal([[[[[1]]]]], { maxDepth: 4 })[0]?.code).toBe("too_deep");
  });

  it("stops at the depth limit when evaluating, with a typed error", () => {
    const compiled = compileLogic(nested(20));
    if (!compiled.ok) throw new Error("refused");
    expect(runLogic(compiled.logic, null).value).toBe(21);
    const e = (() => {
      try {
        runLogic(compiled.logic, null, { depth: 10 });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(DepthLimitError);
    expect((e as DepthLimitError).code).toBe("depth");
  });

  it("refuses data nested absurdly deep instead of overflowing the stack", () => {
    let data: JsonValue = 1;
    for (let i = 0; i < 100_000; i++) data = [data];
    expect(failure({ var: "0" }, data).code).toBe("invalid_context");
  });

  it("limits the strings and lists it builds", () => {
    const doubling = {
      reduce: [{ var: "xs" }, { cat: [{ var: "accumulator" }, { var: "accumulator" }] }, "ab"],
    };
    const e = failure(doubling, { xs: Array.from({ length: 20 }, () => 0) });
    expect(e.code).toBe("too_large");
    const lists = {
      reduce: [{ var: "xs" }, { merge: [{ var: "accumulator" }, { var: "accumulator" }] }, [1]],
    };
    expect(failure(lists, { xs: Array.from({ length: 20 }, () => 0) }).code).toMatch(
      /too_large|steps/,
    );
  });
});

describe("var paths", () => {
  it("refuses __proto__, prototype and constructor at validation, with the path", () => {
    for (const bad of ["__proto__", "a.__proto__", "order.constructor", "x.prototype.y"]) {
      const errors = refusal({ and: [true, { "==": [{ var: bad }, 1] }] });
      expect(errors).toEqual([
        {
          path: "and.1.==.0.var",
          code: "forbidden_path",
          message: expect.stringContaining(
            bad.split(".").find((s) => /proto|constructor/.test(s)) as string,
          ),
        },
      ]);
    }
    expect(refusal({ var: ["constructor", 1] })[0]?.path).toBe("var.0");
    expect(refusal({ missing: ["a", "__proto__.x"] })[0]).toMatchObject({
      path: "missing.1",
      code: "forbidden_path",
    });
    expect(refusal({ missing_some: [1, ["prototype"]] })[0]?.path).toBe("missing_some.1.0");
    // Inside map and the like too.
    expect(refusal({ map: [{ var: "xs" }, { var: "constructor.name" }] })[0]?.path).toBe(
      "map.1.var",
    );
  });

  it("never reads a prototype when evaluating: only own properties count", () => {
    // Keys present only on Object.prototype or Array.prototype are absent.
    expect(value({ var: ["toString", "absent"] }, {})).toBe("absent");
    expect(value({ var: "xs.map" }, { xs: [] })).toBeNull();
    expect(value({ var: "a.hasOwnProperty" }, { a: {} })).toBeNull();
    expect(value({ missing: ["valueOf", "a"] }, { a: 1 })).toEqual(["valueOf"]);
    // A "__proto__" key JSON.parse made is data, and still unreachable: refused when written…
    const data = JSON.parse('{"a": {"__proto__": {"polluted": 1}}}');
    expect(refusal({ var: "a.__proto__.polluted" })[0]?.code).toBe("forbidden_path");
    // …and when computed.
    expect(failure({ var: { cat: ["a.", "__proto__"] } }, data).code).toBe("forbidden_path");
    expect(failure({ missing: { merge: [["a.constructor"]] } }, data).code).toBe("forbidden_path");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads indices and lengths of lists and strings, as json-logic-js does", () => {
    const data = { xs: [10, 20], s: "abc" };
    expect(value({ var: "xs.1" }, data)).toBe(20);
    expect(value({ var: "xs.length" }, data)).toBe(2);
    expect(value({ var: "s.0" }, data)).toBe("a");
    expect(value({ var: "s.length" }, data)).toBe(3);
    expect(value({ var: 1 }, ["a", "b"])).toBe("b");
  });

  it("returns a present null, and the default only for an absent path", () => {
    expect(value({ var: ["a", 5] }, { a: null })).toBeNull();
    expect(value({ var: ["a.b", 5] }, { a: null })).toBe(5);
    expect(value({ var: ["a", 5] }, { a: 0 })).toBe(0);
  });

  it("restricts top-scope paths to the roots given, naming the path", () => {
    const errors = refusal({ and: [{ var: "order.amount" }, { var: "secret" }] }, { roots: ROOTS });
    expect(errors).toEqual([
      {
        path: "and.1.var",
        code: "unknown_root",
        message: expect.stringContaining("order, customer"),
      },
    ]);
    expect(refusal({ var: "" }, { roots: ROOTS })[0]?.code).toBe("unknown_root");
    expect(refusal({ missing: ["customer.tier", "x"] }, { roots: ROOTS })[0]?.path).toBe(
      "missing.1",
    );
    // Inside map, paths read the item.
    expect(
      compileLogic({ map: [{ var: "order.items" }, { var: "sku" }] }, { roots: ROOTS }).ok,
    ).toBe(true);
    // With roots, paths are written out.
    expect(refusal({ var: { cat: ["order", ".amount"] } }, { roots: ROOTS })[0]?.code).toBe(
      "computed_path",
    );
  });

  it("records every top-scope path read and found, with its value", () => {
    const r = evaluateLogic(
      {
        and: [
          { ">": [{ var: "order.amount" }, 100] },
          { var: ["customer.birthdayWeek", false] },
          { some: [{ var: "order.items" }, { "==": [{ var: "category" }, "shoes"] }] },
          { "!": [{ var: "customer.absent" }] },
        ],
      },
      {
        order: { amount: 500, items: [{ category: "shoes" }], note: "unread" },
        customer: { birthdayWeek: true },
      },
    );
    expect(r.value).toBe(true);
    expect(r.inputs).toEqual({
      "order.amount": 500,
      "customer.birthdayWeek": true,
      "order.items": [{ category: "shoes" }],
    });
  });
});

describe("integers only", () => {
  it("refuses floats in an expression, naming their path", () => {
    expect(refusal({ and: [true, { ">": [{ var: "a" }, 1.5] }] })).toEqual([
      { path: "and.1.>.1", code: "not_an_integer", message: "1.5 is not an integer" },
    ]);
    expect(refusal({ "+": ["2.5", 1] })[0]).toMatchObject({ path: "+.0", code: "not_an_integer" });
    expect(refusal({ in: [1, [1, 2, 0.5]] })[0]?.path).toBe("in.1.2");
    expect(refusal({ "<": [{ var: "a" }, 2 ** 53] })[0]?.code).toBe("not_an_integer");
    expect(refusal({ "+": [Number.NaN] })[0]?.code).toBe("not_an_integer");
  });

  it("refuses floats in the data", () => {
    const e = failure({ var: "a" }, { a: { b: [1, 2.5] } });
    expect(e.code).toBe("invalid_context");
    expect(e.path).toBe("data.a.b.1");
  });

  it("fails on a result beyond the safe integers instead of rounding it", () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(value({ "+": [max - 1, 1] })).toBe(max);
    expect(failure({ "+": [max, 1] }).code).toBe("overflow");
    expect(failure({ "*": [{ var: "a" }, { var: "a" }] }, { a: 94906267 }).code).toBe("overflow");
    expect(failure({ "-": [-max, 2] }).code).toBe("overflow");
    expect(failure({ "+": [{ var: "s" }] }, { s: "9007199254740993" }).code).toBe("overflow");
    expect(refusal({ "+": ["9007199254740993"] })[0]?.message).toContain("beyond");
  });

  it("fails on a number that is a fraction, or on none at all", () => {
    expect(failure({ "+": [{ var: "s" }, 1] }, { s: "1.5" }).code).toBe("not_an_integer");
    expect(failure({ "+": [{ var: "s" }, 1] }, { s: "abc" }).code).toBe("not_a_number");
    expect(failure({ "%": [1, 0] }).code).toBe("not_a_number");
    expect(failure({ "+": [{ var: "b" }, 1] }, { b: true }).code).toBe("not_a_number");
    expect(failure({ "<": [{ var: "xs" }, 1] }, { xs: [1] }).code).toBe("not_a_number");
  });

  it("reads a string as a number only where Number() and parseFloat() agree", () => {
    expect(value({ "+": [" 12 ", "1e2", "-3", "007"] })).toBe(116);
    for (const s of ["", "0x10", "12abc", "Infinity", "1_000"]) {
      expect(failure({ "+": [{ var: "s" }] }, { s }).code).toMatch(/not_a_number|not_an_integer/);
    }
  });

  it("never returns negative zero", () => {
    expect(Object.is(value({ "-": 0 }), 0)).toBe(true);
    expect(Object.is(value({ "%": [-4, 2] }), 0)).toBe(true);
    expect(Object.is(value({ "*": [-1, 0] }), 0)).toBe(true);
  });
});

describe("operators", () => {
  it("refuses unknown operators, naming their path", () => {
    expect(refusal({ and: [true, { or: [{ foo: [1] }] }] })).toEqual([
      {
        path: "and.1.or.0.foo",
        code: "unsupported_operator",
        message: 'unsupported operator "foo"',
      },
    ]);
    expect(refusal({ "/": [4, 2] })[0]?.message).toContain("per_amount");
    expect(refusal({ log: "x" })[0]?.code).toBe("unsupported_operator");
    expect(refusal({ "Math.max": [1] })[0]?.code).toBe("unsupported_operator");
    expect(refusal({ val: "x" })[0]?.message).toContain("use var");
    expect(refusal({ a: 1, b: 2 })[0]?.code).toBe("invalid");
  });

  it("refuses argument counts and forms implementations read differently", () => {
    expect(refusal({ ">": [3, 2, 1] })[0]).toMatchObject({ path: ">", code: "arguments" });
    expect(refusal({ "==": [1, 1, 1] })[0]?.code).toBe("arguments");
    expect(refusal({ and: [] })[0]?.code).toBe("arguments");
    expect(refusal({ and: true })[0]?.code).toBe("arguments");
    expect(refusal({ "-": [1, 2, 3] })[0]?.code).toBe("arguments");
    expect(refusal({ "%": [8, 6, 3] })[0]?.code).toBe("arguments");
    expect(refusal({ "==": [{ var: "a" }, null] })[0]).toMatchObject({
      path: "==.1",
      code: "ambiguous",
    });
    expect(refusal({ reduce: [{ var: "xs" }, { var: "current" }] })[0]?.code).toBe("ambiguous");
    expect(refusal({ map: [{ var: "xs" }, null] })[0]?.code).toBe("ambiguous");
    expect(refusal({ map: [5, { var: "" }] })[0]?.code).toBe("arguments");
    expect(refusal({ cat: { merge: [["a"], ["b"]] } })[0]?.code).toBe("ambiguous");
    expect(refusal({ "*": "3" })[0]?.code).toBe("ambiguous");
    expect(refusal({ "!": { var: "x" } })[0]).toMatchObject({ path: "!", code: "ambiguous" });
    expect(value({ "!": [{ var: "x" }] }, { x: [0] })).toBe(false);
    expect(refusal({ "+": [true, 1] })[0]).toMatchObject({ path: "+.0", code: "not_a_number" });
    expect(refusal({ substr: ["abc", "1"] })[0]?.code).toBe("arguments");
  });

  it("follows JsonLogic's truthiness and comparisons", () => {
    expect(value({ "!!": [[]] })).toBe(false);
    expect(value({ "!!": ["0"] })).toBe(true);
    expect(value({ "!!": [{}] })).toBe(true);
    expect(value({ "==": [1, "1"] })).toBe(true);
    expect(value({ "==": [0, false] })).toBe(true);
    expect(value({ "===": [1, "1"] })).toBe(false);
    expect(value({ "<": ["a", "b"] })).toBe(true);
    expect(value({ "<": ["10", 9] })).toBe(false);
    expect(value({ "<=": [1, { var: "x" }, 3] }, { x: 3 })).toBe(true);
    expect(value({ ">": [{ var: "missing" }, -1] }, {})).toBe(true);
    expect(value({ "==": [{ var: "missing" }, 0] }, {})).toBe(false);
  });

  it("evaluates strings and lists as json-logic-js does", () => {
    expect(value({ cat: ["a", 1, null, true] })).toBe("a1true");
    expect(value({ substr: ["jsonlogic", -5, -2] })).toBe("log");
    expect(value({ in: ["Spring", "Springfield"] })).toBe(true);
    expect(value({ in: [1, [1, 2]] })).toBe(true);
    expect(value({ in: ["1", [1, 2]] })).toBe(false);
    expect(value({ merge: [[1], 2, [[3]]] })).toEqual([1, 2, [3]]);
    expect(value({ missing_some: [1, ["a", "b"]] }, { b: 1 })).toEqual([]);
    expect(value({ missing: { merge: ["a", { if: [true, ["b"], []] }] } }, { a: 1 })).toEqual([
      "b",
    ]);
    expect(value({ filter: [{ var: "missing" }, true] }, {})).toEqual([]);
    expect(failure({ all: [{ var: "missing" }, true] }, {}).code).toBe("invalid_arguments");
  });
});

describe("evaluateLogic", () => {
  it("throws RuleValidationError listing every refusal", () => {
    try {
      evaluateLogic({ and: [{ foo: 1 }, 1.5] }, null);
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(RuleValidationError);
      expect((e as RuleValidationError).errors.map((p) => p.path)).toEqual(["and.1", "and.0.foo"]);
    }
  });

  it("is deterministic: the same expression and data give the same result, steps and inputs", () => {
    const logic = { map: [{ var: "xs" }, { "*": [{ var: "" }, 3] }] };
    const data = { xs: [1, 2, 3] };
    expect(evaluateLogic(logic, data)).toEqual(evaluateLogic(logic, data));
  });
});
