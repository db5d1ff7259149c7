import { checkJson, type JsonObject, type JsonValue } from "../json.js";
import {
  DepthLimitError,
  EvaluationError,
  type Problem,
  RuleValidationError,
  StepBudgetError,
} from "../problems.js";
import {
  type CompiledLogic,
  type CompileOptions,
  compileLogic,
  forbiddenSegment,
  LOGIC_LIMITS,
  type LogicNode,
  SINGLE_FACTOR,
} from "./compile.js";
import {
  compare,
  describe,
  looseEqual,
  result,
  strictEqual,
  substr,
  toInteger,
  truthy,
} from "./values.js";

export interface EvaluateOptions {
  /** Step budget (default LOGIC_LIMITS.steps). */
  steps?: number;
  /** Depth limit (default LOGIC_LIMITS.depth). */
  depth?: number;
  /** Longest string `cat` may build (default LOGIC_LIMITS.stringLength). */
  stringLength?: number;
  /** Longest list `merge`, `map` and `filter` may build (default LOGIC_LIMITS.listLength). */
  listLength?: number;
}

/** Every top-scope `var` path an evaluation read and found, with the value it found. */
export type Inputs = Record<string, JsonValue>;

export interface LogicResult {
  value: JsonValue;
  /** Steps used. */
  steps: number;
  /**
   * Each path read from the top scope (the data, not an item inside map, filter and the like)
   * that was present, with its value. A path read and found absent is not listed: rebuilding
   * the data from these inputs leaves it absent again, so evaluation gives the same result.
   */
  inputs: Inputs;
}

/** A lookup of a dotted path: absent (JsonLogic's undefined) or a value. */
export type Lookup = { found: false } | { found: true; value: JsonValue };

const ABSENT: Lookup = { found: false };

/**
 * Reads `segments` from `data` the way json-logic-js does (`data[segment]`, stopping at null or
 * a missing key), but only through own properties: of plain objects, lists (indices and
 * `length`) and strings (indices and `length`). Nothing on a prototype is ever reached.
 */
export function lookup(data: JsonValue | undefined, segments: readonly string[]): Lookup {
  let current: JsonValue | undefined = data;
  for (const segment of segments) {
    if (current === null || current === undefined) return ABSENT;
    if (typeof current === "object" || typeof current === "string") {
      if (!Object.hasOwn(current as object, segment)) return ABSENT;
      current = (current as unknown as Record<string, JsonValue>)[segment];
    } else {
      return ABSENT;
    }
  }
  return current === undefined ? ABSENT : { found: true, value: current };
}

/** Checks evaluation data: plain JSON, integers only. */
export function checkData(data: unknown, path = "data"): Problem[] {
  const problems: Problem[] = [];
  checkJson(data, path, problems);
  return problems;
}

/**
 * Validates `logic` and `data` and evaluates. Throws RuleValidationError for a refused
 * expression or data, EvaluationError (StepBudgetError, DepthLimitError, ...) for an evaluation
 * that fails.
 */
export function evaluateLogic(
  logic: unknown,
  data: unknown,
  options: EvaluateOptions & Pick<CompileOptions, "roots"> = {},
): LogicResult {
  const compiled = compileLogic(logic, { roots: options.roots ?? null, maxDepth: options.depth });
  if (!compiled.ok) throw new RuleValidationError(compiled.errors);
  return runLogic(compiled.logic, data, options);
}

/** Evaluates a compiled expression over `data`, which is checked first. */
export function runLogic(
  logic: CompiledLogic,
  data: unknown,
  options: EvaluateOptions = {},
): LogicResult {
  const problems = checkData(data === undefined ? null : data);
  if (problems.length > 0) {
    const first = problems[0] as Problem;
    throw new EvaluationError("invalid_context", first.path, first.message);
  }
  const machine = new Machine(options, logic.roots);
  const value = machine.run(logic.node, (data ?? null) as JsonValue);
  return { value, steps: machine.steps, inputs: machine.inputs };
}

/**
 * One evaluation's state: the steps spent and the inputs read. A rule's condition and item
 * filters share one machine, so they share one budget.
 * @internal
 */
export class Machine {
  steps = 0;
  readonly inputs: Inputs = {};
  private readonly budget: number;
  private readonly maxDepth: number;
  private readonly maxString: number;
  private readonly maxList: number;

  constructor(
    options: EvaluateOptions = {},
    /** The roots top-scope `missing` keys computed at run time must start with (null: any). */
    private roots: readonly string[] | null = null,
    /** Whether inputs are recorded at all (false: only the value is wanted). */
    private readonly recordInputs = true,
  ) {
    this.budget = options.steps ?? LOGIC_LIMITS.steps;
    this.maxDepth = options.depth ?? LOGIC_LIMITS.depth;
    this.maxString = options.stringLength ?? LOGIC_LIMITS.stringLength;
    this.maxList = options.listLength ?? LOGIC_LIMITS.listLength;
  }

  /**
   * Evaluates `node` over `data`. With `record` (the default) top-scope reads are recorded as
   * inputs; without it (an item filter, whose item was recorded with its list) they are not.
   */
  run(
    node: LogicNode,
    data: JsonValue,
    scope: { record?: boolean; roots?: readonly string[] | null } = {},
  ): JsonValue {
    const before = [this.recording, this.roots] as const;
    this.recording = scope.record ?? true;
    if (scope.roots !== undefined) this.roots = scope.roots;
    try {
      return this.ev(node, data, 1);
    } finally {
      [this.recording, this.roots] = before;
    }
  }

  private recording = true;

  /** Records a top-scope read (also used by the rule engine for the fields it reads itself). */
  record(key: string, found: Lookup): void {
    if (found.found && this.recording && this.recordInputs) this.inputs[key] = found.value;
  }

  /** Starts a new evaluation on the same limits: no steps spent (inputs are kept). */
  restart(): void {
    this.steps = 0;
  }

  /** Charges `n` steps (for work proportional to a list's length). */
  charge(n: number, path: string): void {
    this.steps += n;
    if (this.steps > this.budget) throw new StepBudgetError(path, this.budget);
  }

  private ev(node: LogicNode, data: JsonValue, depth: number): JsonValue {
    if (node.t === "value") {
      this.charge(1, "");
      return node.value;
    }
    this.charge(1, node.path);
    if (depth > this.maxDepth) throw new DepthLimitError(node.path, this.maxDepth);
    switch (node.t) {
      case "list":
        return node.items.map((item) => this.ev(item, data, depth + 1));
      case "var": {
        let key = node.key;
        let segments = node.segments;
        if (node.computed !== null) {
          key = this.pathOf(this.ev(node.computed, data, depth + 1), node.path, node.top);
          segments = key === "" ? null : key.split(".");
        }
        // json-logic-js evaluates the default before looking the path up.
        const fallback = node.fallback === null ? null : this.ev(node.fallback, data, depth + 1);
        if (segments === null) return data;
        const found = lookup(data, segments);
        if (node.top) this.record(key, found);
        return found.found ? found.value : fallback;
      }
      case "op":
        return this.op(node, data, depth);
    }
  }

  private args(node: { args: readonly LogicNode[] }, data: JsonValue, depth: number): JsonValue[] {
    return node.args.map((a) => this.ev(a, data, depth + 1));
  }

  private op(node: Extract<LogicNode, { t: "op" }>, data: JsonValue, depth: number): JsonValue {
    const { op, path } = node;
    const next = depth + 1;
    switch (op) {
      case "if":
      case "?:": {
        const a = node.args;
        let i = 0;
        for (; i < a.length - 1; i += 2) {
          if (truthy(this.ev(a[i] as LogicNode, data, next))) {
            return this.ev(a[i + 1] as LogicNode, data, next);
          }
        }
        return i === a.length - 1 ? this.ev(a[i] as LogicNode, data, next) : null;
      }
      case "and":
      case "or": {
        let current: JsonValue = null;
        for (const a of node.args) {
          current = this.ev(a, data, next);
          if (truthy(current) === (op === "or")) return current;
        }
        return current;
      }
      case "map":
      case "filter":
      case "all":
      case "none":
      case "some":
      case "reduce":
        return this.iterate(node, data, depth);
      default:
        break;
    }
    const v = this.args(node, data, depth);
    switch (op) {
      case "==":
        return looseEqual(v[0] as JsonValue, v[1] as JsonValue, path, op);
      case "!=":
        return !looseEqual(v[0] as JsonValue, v[1] as JsonValue, path, op);
      case "===":
        return strictEqual(v[0] as JsonValue, v[1] as JsonValue, path, op);
      case "!==":
        return !strictEqual(v[0] as JsonValue, v[1] as JsonValue, path, op);
      case "!":
        return !truthy(v[0] ?? null);
      case "!!":
        return truthy(v[0] ?? null);
      case ">":
        return compare(v[0] as JsonValue, v[1] as JsonValue, path, op) > 0;
      case ">=":
        return compare(v[0] as JsonValue, v[1] as JsonValue, path, op) >= 0;
      case "<":
      case "<=": {
        const ok = (c: number) => (op === "<" ? c < 0 : c <= 0);
        const first = ok(compare(v[0] as JsonValue, v[1] as JsonValue, path, op));
        if (v.length === 2) return first;
        // json-logic-js: (a < b) && (b < c), every argument evaluated.
        return first && ok(compare(v[1] as JsonValue, v[2] as JsonValue, path, op));
      }
      case "+": {
        let sum = 0;
        for (const x of v) sum = result(sum + toInteger(x, path), path);
        return sum;
      }
      case "*": {
        if (v.length === 1 && typeof v[0] === "string") {
          throw new EvaluationError("invalid_arguments", path, SINGLE_FACTOR);
        }
        let product = toInteger(v[0] as JsonValue, path);
        for (const x of v.slice(1)) product = result(product * toInteger(x, path), path);
        return product;
      }
      case "-": {
        const a = toInteger(v[0] as JsonValue, path);
        if (v.length === 1) return result(-a, path);
        return result(a - toInteger(v[1] as JsonValue, path), path);
      }
      case "%": {
        const a = toInteger(v[0] as JsonValue, path);
        const b = toInteger(v[1] as JsonValue, path);
        if (b === 0)
          throw new EvaluationError("not_a_number", path, "remainder of a division by 0");
        return result(a % b, path);
      }
      case "min":
      case "max": {
        const ns = v.map((x) => toInteger(x, path));
        return op === "min" ? Math.min(...ns) : Math.max(...ns);
      }
      case "cat": {
        let text = "";
        for (const x of v) {
          if (typeof x === "object" && x !== null) {
            throw new EvaluationError(
              "invalid_arguments",
              path,
              `cat joins strings, numbers, booleans and null, not ${describe(x)}`,
            );
          }
          text += x === null ? "" : String(x);
          if (text.length > this.maxString) {
            throw new EvaluationError(
              "too_large",
              path,
              `cat built a string longer than ${this.maxString}`,
            );
          }
        }
        return text;
      }
      case "substr": {
        const source = v[0] as JsonValue;
        if (typeof source === "object" && source !== null) {
          throw new EvaluationError("invalid_arguments", path, `substr of ${describe(source)}`);
        }
        const text = String(source);
        const position = (x: JsonValue | undefined): number => {
          if (typeof x !== "number") {
            throw new EvaluationError(
              "invalid_arguments",
              path,
              `a substr position is an integer, not ${describe(x ?? null)}`,
            );
          }
          return x;
        };
        const start = position(v[1]);
        if (v.length < 3) return substr(text, start);
        const end = position(v[2]);
        if (end < 0) {
          // json-logic-js: a negative length counts back from the end, as in PHP.
          const rest = substr(text, start);
          return substr(rest, 0, rest.length + end);
        }
        return substr(text, start, end);
      }
      case "in": {
        const needle = v[0] as JsonValue;
        const haystack = v[1] as JsonValue;
        if (typeof needle === "object" && needle !== null) {
          throw new EvaluationError(
            "invalid_arguments",
            path,
            `in looks for a string, number, boolean or null, not ${describe(needle)}`,
          );
        }
        if (typeof haystack === "string") return haystack.includes(String(needle));
        if (Array.isArray(haystack)) {
          this.charge(haystack.length, path);
          return haystack.some((x) => x === needle);
        }
        return false;
      }
      case "merge": {
        const out: JsonValue[] = [];
        for (const x of v) {
          if (Array.isArray(x)) {
            this.charge(x.length, path);
            out.push(...x);
          } else {
            out.push(x);
          }
          this.checkList(out.length, path, op);
        }
        return out;
      }
      case "missing": {
        const first = v[0];
        let keys: JsonValue[] = v;
        if (Array.isArray(first)) {
          if (v.length > 1) {
            throw new EvaluationError(
              "invalid_arguments",
              path,
              "missing takes either its keys as arguments or one list of keys, not both",
            );
          }
          keys = first;
        }
        return this.missing(keys, data, node.top, path);
      }
      case "missing_some": {
        const need = v[0] as JsonValue;
        const keys = v[1] as JsonValue;
        if (typeof need !== "number") {
          throw new EvaluationError("invalid_arguments", path, "missing_some needs a count");
        }
        if (!Array.isArray(keys)) {
          throw new EvaluationError("invalid_arguments", path, "missing_some takes a list of keys");
        }
        const absent = this.missing(keys, data, node.top, path);
        return keys.length - absent.length >= need ? [] : absent;
      }
      default:
        throw new EvaluationError("invalid_arguments", path, `unsupported operator ${op}`);
    }
  }

  /** A path computed at run time: checked as validation checks written ones. */
  private pathOf(name: JsonValue, path: string, top: boolean): string {
    if (name === null) return "";
    if (typeof name !== "string" && typeof name !== "number") {
      throw new EvaluationError(
        "invalid_arguments",
        path,
        `a path is a string or an integer, not ${describe(name)}`,
      );
    }
    const key = String(name);
    if (key === "") return key;
    const segments = key.split(".");
    const bad = forbiddenSegment(segments);
    if (bad !== undefined) {
      throw new EvaluationError(
        "forbidden_path",
        path,
        `the path ${JSON.stringify(key)} names ${bad}`,
      );
    }
    if (top && this.roots !== null && !this.roots.includes(segments[0] as string)) {
      throw new EvaluationError(
        "forbidden_path",
        path,
        `${JSON.stringify(key)} is not a field a rule can read`,
      );
    }
    return key;
  }

  private missing(keys: JsonValue[], data: JsonValue, top: boolean, path: string): JsonValue[] {
    this.charge(keys.length, path);
    const out: JsonValue[] = [];
    for (const k of keys) {
      if (typeof k !== "string" && typeof k !== "number") {
        throw new EvaluationError(
          "invalid_arguments",
          path,
          `a missing key is a string or an integer, not ${describe(k)}`,
        );
      }
      const key = this.pathOf(k, path, top);
      let value: JsonValue;
      if (key === "") {
        value = data;
      } else {
        const found = lookup(data, key.split("."));
        if (top) this.record(key, found);
        value = found.found ? found.value : null;
      }
      if (value === null || value === "") out.push(k);
    }
    return out;
  }

  private iterate(
    node: Extract<LogicNode, { t: "op" }>,
    data: JsonValue,
    depth: number,
  ): JsonValue {
    const { op, path } = node;
    const next = depth + 1;
    const list = this.ev(node.args[0] as LogicNode, data, next);
    const logic = node.args[1] as LogicNode;
    if (!Array.isArray(list)) {
      if (list === null) {
        // json-logic-js and the compatibility suites agree on these three for null.
        if (op === "map" || op === "filter") return [];
        if (op === "reduce") return this.ev(node.args[2] as LogicNode, data, next);
      }
      throw new EvaluationError(
        "invalid_arguments",
        path,
        `${op} of ${describe(list)}, not a list`,
      );
    }
    switch (op) {
      case "map": {
        this.checkList(list.length, path, op);
        return list.map((item) => this.ev(logic, item, next));
      }
      case "filter":
        return list.filter((item) => truthy(this.ev(logic, item, next)));
      case "all":
        if (list.length === 0) return false;
        return list.every((item) => truthy(this.ev(logic, item, next)));
      case "some":
        return list.some((item) => truthy(this.ev(logic, item, next)));
      case "none":
        return !list.some((item) => truthy(this.ev(logic, item, next)));
      case "reduce": {
        let accumulator = this.ev(node.args[2] as LogicNode, data, next);
        for (const current of list) {
          const scope: JsonObject = { current, accumulator };
          accumulator = this.ev(logic, scope, next);
        }
        return accumulator;
      }
      default:
        throw new EvaluationError("invalid_arguments", path, `unsupported operator ${op}`);
    }
  }

  private checkList(length: number, path: string, op: string): void {
    if (length > this.maxList) {
      throw new EvaluationError(
        "too_large",
        path,
        `${op} built a list longer than ${this.maxList}`,
      );
    }
  }
}
