import { ApiError } from "../http/errors.js";

/**
 * A segment's condition: JsonLogic over a customer's non-personal facts (decision 4), parsed
 * into a small typed tree that `sql.ts` turns into a WHERE clause. Anything outside the subset
 * is refused with the JSON path of the fault, so a condition that is stored is one the
 * database can answer and any JsonLogic engine can re-evaluate.
 *
 * Semantics are json-logic-js's, with two deliberate differences (docs/guide.md, Segments):
 * `==` and `!=` do not coerce types (they mean `===` and `!==`), and `<`, `<=`, `>`, `>=` hold
 * only between two numbers or two strings, so a missing fact is never "less than 5".
 */

/** How a fact is typed, which decides what it may be compared with. */
export type FactType = "string" | "number" | "list" | "time" | "scalar";

export interface Fact {
  /** The name a condition uses in `var`: `stage`, `attributes.visits`. */
  path: string;
  type: FactType;
  /** For `attributes.<key>`: the key. */
  attribute?: string;
}

/** The facts a condition may read: never a personal field (those live in the vault). */
export const FACTS: ReadonlyMap<string, FactType> = new Map<string, FactType>([
  ["stage", "string"],
  ["language", "string"],
  ["country", "string"],
  ["ageBand", "string"],
  ["birthMonth", "number"],
  ["tags", "list"],
  ["channels", "list"],
  ["createdAt", "time"],
]);

/** The same shape customers' attribute keys have (customers/profile.ts). */
const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,39}$/;

export type Scalar = string | number | boolean | null;

export type Operand = { kind: "var"; fact: Fact } | { kind: "value"; value: Scalar };

export type Comparison = "<" | "<=" | ">" | ">=";

/** A parsed condition: every node is true or false for a customer, never a value. */
export type Condition =
  | { kind: "constant"; value: boolean }
  | { kind: "and" | "or"; items: Condition[] }
  | { kind: "not"; item: Condition }
  /** JavaScript truthiness of a fact (JsonLogic's `!!`): an empty list or "" is false. */
  | { kind: "truthy"; fact: Fact }
  | { kind: "equal"; negated: boolean; fact: Fact; value: Scalar }
  /** `fact op value` for each pair of a comparison chain, the fact on the left. */
  | { kind: "compare"; fact: Fact; type: "number" | "string" | "time"; pairs: ComparePair[] }
  | { kind: "oneOf"; fact: Fact; values: Scalar[] }
  /** A string in a list fact (a tag), or a substring of a string fact (JsonLogic's `in`). */
  | { kind: "contains"; fact: Fact; value: string };

export interface ComparePair {
  op: Comparison;
  value: string | number;
}

export const CONDITION_LIMITS = {
  /** Operators nested inside each other. */
  depth: 12,
  /** Operators, vars and values in the whole condition. */
  nodes: 300,
  /** Values in one `in` list. */
  list: 500,
  /** Characters of one string value. */
  text: 200,
};

/** A condition outside the supported subset, with where it is (`$.and[1]["<"][0]`). */
export class ConditionError extends ApiError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(400, "invalid_condition", `condition ${path}: ${problem}`, { path });
    this.name = "ConditionError";
  }
}

const OPERATORS = [
  "and",
  "or",
  "!",
  "!!",
  "==",
  "===",
  "!=",
  "!==",
  "<",
  "<=",
  ">",
  ">=",
  "in",
] as const;
type Operator = (typeof OPERATORS)[number];
const isOperator = (k: string): k is Operator => (OPERATORS as readonly string[]).includes(k);

const key = (path: string, name: string) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A canonical time as `createdAt` holds it (what `Date.toISOString` writes). */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const realTime = (s: string) => {
  const d = new Date(DATE.test(s) ? `${s}T00:00:00.000Z` : s);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s.slice(0, 23));
};

/**
 * Parses and checks a condition. Throws `ConditionError` (400 `invalid_condition`) naming the
 * JSON path of the first fault.
 */
export function parseCondition(input: unknown): Condition {
  let nodes = 0;
  const count = (path: string) => {
    if (++nodes > CONDITION_LIMITS.nodes) {
      throw new ConditionError(path, `more than ${CONDITION_LIMITS.nodes} operators and values`);
    }
  };

  const fact = (v: unknown, path: string): Fact => {
    const args = Array.isArray(v) ? v : [v];
    if (args.length !== 1) {
      throw new ConditionError(path, "var takes one fact name, without a default");
    }
    const name = args[0];
    if (typeof name !== "string") throw new ConditionError(path, "var needs a fact name");
    const type = FACTS.get(name);
    if (type) return { path: name, type };
    const m = /^attributes\.(.*)$/.exec(name);
    if (m?.[1] !== undefined && ATTRIBUTE_KEY.test(m[1])) {
      return { path: name, type: "scalar", attribute: m[1] };
    }
    throw new ConditionError(
      path,
      `${JSON.stringify(name.slice(0, 60))} is not a fact segments may use (${[...FACTS.keys()].join(", ")}, attributes.<key>)`,
    );
  };

  const scalar = (v: unknown, path: string): Scalar => {
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new ConditionError(path, "numbers must be finite");
      return v;
    }
    if (typeof v === "string") {
      if (v.length > CONDITION_LIMITS.text) {
        throw new ConditionError(
          path,
          `text values are at most ${CONDITION_LIMITS.text} characters`,
        );
      }
      return v;
    }
    throw new ConditionError(
      path,
      'expected a fact ({"var": …}) or a string, number, boolean or null',
    );
  };

  const operand = (v: unknown, path: string): Operand => {
    count(path);
    if (isObject(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "var") {
        return { kind: "var", fact: fact(v.var, key(path, "var")) };
      }
      throw new ConditionError(
        path,
        'a comparison takes facts ({"var": …}) and values, not operations',
      );
    }
    return { kind: "value", value: scalar(v, path) };
  };

  const argsOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

  const condition = (v: unknown, path: string, depth: number): Condition => {
    count(path);
    if (typeof v === "boolean") return { kind: "constant", value: v };
    if (!isObject(v)) {
      throw new ConditionError(
        path,
        'expected an operation such as {"==": [{"var": "stage"}, "loyal"]}, true or false',
      );
    }
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      throw new ConditionError(
        path,
        `an operation is an object with exactly one operator (found ${keys.length} keys)`,
      );
    }
    const op = keys[0] as string;
    const at = key(path, op);
    if (op === "var") {
      return { kind: "truthy", fact: fact(v.var, at) };
    }
    if (!isOperator(op)) {
      throw new ConditionError(
        path,
        `${JSON.stringify(op.slice(0, 40))} is not a supported operator (${OPERATORS.join(" ")} var)`,
      );
    }
    if (depth >= CONDITION_LIMITS.depth) {
      throw new ConditionError(path, `operations nest at most ${CONDITION_LIMITS.depth} deep`);
    }
    const args = argsOf(v[op]);
    const arity = (n: number) => {
      if (args.length !== n) {
        throw new ConditionError(
          at,
          `${op} takes ${n} argument${n === 1 ? "" : "s"}, not ${args.length}`,
        );
      }
    };
    switch (op) {
      case "and":
      case "or": {
        if (args.length === 0) throw new ConditionError(at, `${op} needs at least one condition`);
        return {
          kind: op,
          items: args.map((a, i) => condition(a, `${at}[${i}]`, depth + 1)),
        };
      }
      case "!":
        arity(1);
        return { kind: "not", item: condition(args[0], `${at}[0]`, depth + 1) };
      case "!!": {
        arity(1);
        const inner = condition(args[0], `${at}[0]`, depth + 1);
        return inner;
      }
      case "==":
      case "===":
      case "!=":
      case "!==": {
        arity(2);
        const [a, b] = args.map((x, i) => operand(x, `${at}[${i}]`)) as [Operand, Operand];
        const pair = varAndValue(a, b, at);
        if (!pair) throw new ConditionError(at, `${op} compares one fact with one value`);
        const [f, value] = pair;
        checkEquality(f, value, at);
        return { kind: "equal", negated: op.startsWith("!"), fact: f, value };
      }
      case "<":
      case "<=":
      case ">":
      case ">=":
        if (args.length !== 2 && !(args.length === 3 && (op === "<" || op === "<="))) {
          throw new ConditionError(
            at,
            `${op} takes 2 arguments${op === "<" || op === "<=" ? " (or 3: a < b < c)" : ""}, not ${args.length}`,
          );
        }
        return comparison(
          op,
          args.map((x, i) => operand(x, `${at}[${i}]`)),
          at,
        );
      case "in": {
        arity(2);
        const [needle, haystack] = args;
        if (Array.isArray(haystack)) {
          const n = operand(needle, `${at}[0]`);
          if (n.kind !== "var") {
            throw new ConditionError(
              `${at}[0]`,
              "in a list of values, the first argument is a fact",
            );
          }
          if (n.fact.type === "list") {
            throw new ConditionError(
              `${at}[0]`,
              `${n.fact.path} is a list: ask for one value in it, {"in": ["vip", {"var": "${n.fact.path}"}]}`,
            );
          }
          if (n.fact.type === "time") {
            throw new ConditionError(`${at}[0]`, "createdAt is compared with <, <=, > or >=");
          }
          if (haystack.length > CONDITION_LIMITS.list) {
            throw new ConditionError(
              `${at}[1]`,
              `a list holds at most ${CONDITION_LIMITS.list} values`,
            );
          }
          const values = haystack.map((x, i) => {
            count(`${at}[1][${i}]`);
            const value = scalar(x, `${at}[1][${i}]`);
            checkEquality(n.fact, value, `${at}[1][${i}]`);
            return value;
          });
          return { kind: "oneOf", fact: n.fact, values };
        }
        const n = operand(needle, `${at}[0]`);
        const h = operand(haystack, `${at}[1]`);
        if (n.kind !== "value" || typeof n.value !== "string" || h.kind !== "var") {
          throw new ConditionError(
            at,
            'in asks for a fact in a list of values ({"in": [{"var": "stage"}, ["loyal", "repeat"]]}) or a text in a fact ({"in": ["vip", {"var": "tags"}]})',
          );
        }
        if (h.fact.type === "number" || h.fact.type === "time") {
          throw new ConditionError(`${at}[1]`, `${h.fact.path} is not a list or a text`);
        }
        return { kind: "contains", fact: h.fact, value: n.value };
      }
    }
    throw new ConditionError(path, `unsupported operator ${op}`);
  };

  return condition(input, "$", 0);
}

function varAndValue(a: Operand, b: Operand, path: string): [Fact, Scalar] | undefined {
  if (a.kind === "var" && b.kind === "value") return [a.fact, b.value];
  if (a.kind === "value" && b.kind === "var") return [b.fact, a.value];
  if (a.kind === "var" && b.kind === "var") {
    throw new ConditionError(path, "compare a fact with a value, not with another fact");
  }
  return undefined;
}

/** What a fact may equal: its own type (or null), so a typo like stage == 3 is caught. */
function checkEquality(f: Fact, value: Scalar, path: string) {
  const t = typeof value;
  if (f.type === "list") {
    throw new ConditionError(
      path,
      `${f.path} is a list: ask for one value in it, {"in": ["vip", {"var": "${f.path}"}]}`,
    );
  }
  if (f.type === "time") {
    if (typeof value !== "string" || !TIME.test(value) || !realTime(value)) {
      throw new ConditionError(
        path,
        "createdAt equals a time written YYYY-MM-DDTHH:MM:SS.sssZ (or compare it with <, <=, >, >=)",
      );
    }
    return;
  }
  if (value === null || f.type === "scalar") return;
  if (f.type !== t) throw new ConditionError(path, `${f.path} is a ${f.type}, not a ${t}`);
}

const FLIP: Record<Comparison, Comparison> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

function comparison(op: Comparison, operands: Operand[], path: string): Condition {
  const vars = operands.filter((o) => o.kind === "var");
  if (vars.length !== 1) {
    throw new ConditionError(
      path,
      `${op} compares one fact with values (a < fact < b for a range)`,
    );
  }
  const f = (vars[0] as { fact: Fact }).fact;
  const values = operands.flatMap((o) => (o.kind === "value" ? [o.value] : []));
  if (values.some((v) => typeof v !== "number") && values.some((v) => typeof v !== "string")) {
    throw new ConditionError(path, `${op} compares numbers with numbers or texts with texts`);
  }
  const type = typeof values[0] === "number" ? "number" : "string";
  if (f.type === "list") throw new ConditionError(path, `${f.path} is a list; it has no order`);
  if (f.type === "time") {
    for (const v of values) {
      if (typeof v !== "string" || !(TIME.test(v) || DATE.test(v)) || !realTime(v)) {
        throw new ConditionError(
          path,
          "createdAt compares with a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SS.sssZ",
        );
      }
    }
  } else if (f.type !== "scalar" && f.type !== type) {
    throw new ConditionError(path, `${f.path} is a ${f.type}, not a ${type}`);
  }
  // Each neighbouring pair, rewritten with the fact on the left; two values compare now.
  const pairs: ComparePair[] = [];
  let constant = true;
  for (let i = 0; i + 1 < operands.length; i++) {
    const a = operands[i] as Operand;
    const b = operands[i + 1] as Operand;
    if (a.kind === "var" && b.kind === "value")
      pairs.push({ op, value: b.value as string | number });
    else if (a.kind === "value" && b.kind === "var") {
      pairs.push({ op: FLIP[op], value: a.value as string | number });
    } else if (a.kind === "value" && b.kind === "value") {
      constant = constant && holds(op, a.value as string | number, b.value as string | number);
    }
  }
  if (!constant) return { kind: "constant", value: false };
  return { kind: "compare", fact: f, type: f.type === "time" ? "time" : type, pairs };
}

function holds(op: Comparison, a: string | number, b: string | number): boolean {
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}
