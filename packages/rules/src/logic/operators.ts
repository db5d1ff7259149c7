/**
 * The JsonLogic operators this evaluator supports: the classic set (jsonlogic.com, json-logic-js)
 * without `/` (it yields fractions: ratios are per_amount actions), `log` (a side effect) and
 * method calls (`a.b` operators); with the argument counts and forms every JsonLogic
 * implementation reads the same way.
 */
export type Operator =
  | "var"
  | "missing"
  | "missing_some"
  | "if"
  | "?:"
  | "=="
  | "==="
  | "!="
  | "!=="
  | "!"
  | "!!"
  | "or"
  | "and"
  | ">"
  | ">="
  | "<"
  | "<="
  | "+"
  | "-"
  | "*"
  | "%"
  | "min"
  | "max"
  | "cat"
  | "substr"
  | "in"
  | "merge"
  | "map"
  | "filter"
  | "reduce"
  | "all"
  | "none"
  | "some";

export interface OperatorSpec {
  /** Fewest and most arguments. */
  min: number;
  max: number;
  /**
   * Whether the arguments may be written without a list (`{"!": true}` for `{"!": [true]}`):
   * `literal` for a single literal value, `any` also for a single operation (only `var`, whose
   * one argument is a path, and `missing`, whose one computed argument every implementation
   * reads as its list of keys), `none` for a list only. Newer engines spread a computed array into the argument list where json-logic-js
   * passes it as one argument, so a lone operation is accepted only where both agree.
   */
  bare: "literal" | "any" | "none";
}

const INF = Number.POSITIVE_INFINITY;

export const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map<Operator, OperatorSpec>([
  ["var", { min: 0, max: 2, bare: "any" }],
  ["missing", { min: 0, max: INF, bare: "any" }],
  ["missing_some", { min: 2, max: 2, bare: "none" }],
  ["if", { min: 0, max: INF, bare: "none" }],
  ["?:", { min: 0, max: INF, bare: "none" }],
  ["==", { min: 2, max: 2, bare: "none" }],
  ["===", { min: 2, max: 2, bare: "none" }],
  ["!=", { min: 2, max: 2, bare: "none" }],
  ["!==", { min: 2, max: 2, bare: "none" }],
  ["!", { min: 0, max: 1, bare: "literal" }],
  ["!!", { min: 0, max: 1, bare: "literal" }],
  ["or", { min: 1, max: INF, bare: "none" }],
  ["and", { min: 1, max: INF, bare: "none" }],
  [">", { min: 2, max: 2, bare: "none" }],
  [">=", { min: 2, max: 2, bare: "none" }],
  ["<", { min: 2, max: 3, bare: "none" }],
  ["<=", { min: 2, max: 3, bare: "none" }],
  ["+", { min: 0, max: INF, bare: "literal" }],
  ["-", { min: 1, max: 2, bare: "literal" }],
  ["*", { min: 1, max: INF, bare: "literal" }],
  ["%", { min: 2, max: 2, bare: "none" }],
  ["min", { min: 1, max: INF, bare: "literal" }],
  ["max", { min: 1, max: INF, bare: "literal" }],
  ["cat", { min: 0, max: INF, bare: "literal" }],
  ["substr", { min: 2, max: 3, bare: "none" }],
  ["in", { min: 2, max: 2, bare: "none" }],
  ["merge", { min: 0, max: INF, bare: "literal" }],
  ["map", { min: 2, max: 2, bare: "none" }],
  ["filter", { min: 2, max: 2, bare: "none" }],
  ["reduce", { min: 2, max: 3, bare: "none" }],
  ["all", { min: 2, max: 2, bare: "none" }],
  ["none", { min: 2, max: 2, bare: "none" }],
  ["some", { min: 2, max: 2, bare: "none" }],
]);

/** The operators whose arguments must be numbers: literals are checked when validating. */
export const ARITHMETIC: ReadonlySet<string> = new Set(["+", "-", "*", "%", "min", "max"]);

/** Operators that go through a list, evaluating their second argument once per item. */
export const ITERATORS: ReadonlySet<string> = new Set([
  "map",
  "filter",
  "reduce",
  "all",
  "none",
  "some",
]);

/** Why some well-known operators are not here, for the refusal message. */
export const NOT_SUPPORTED: ReadonlyMap<string, string> = new Map([
  [
    "/",
    "division yields fractions, and rules use integers only: express a ratio as a per_amount action",
  ],
  ["log", "it has a side effect"],
  ["val", "it is not a classic JsonLogic operator: use var"],
  ["??", "it is not a classic JsonLogic operator"],
  ["exists", "it is not a classic JsonLogic operator: use missing"],
  ["throw", "it is not a classic JsonLogic operator"],
  ["try", "it is not a classic JsonLogic operator"],
  ["preserve", "it is not a classic JsonLogic operator"],
]);

/** Path segments no `var` may name: reading them is how prototype pollution starts. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set([
  "__proto__",
  "prototype",
  "constructor",
]);
