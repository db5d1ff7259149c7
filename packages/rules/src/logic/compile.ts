import { checkJson, isPlainObject, type JsonValue, joinPath } from "../json.js";
import { type Problem, problem } from "../problems.js";
import {
  ARITHMETIC,
  FORBIDDEN_SEGMENTS,
  ITERATORS,
  NOT_SUPPORTED,
  OPERATORS,
  type Operator,
} from "./operators.js";
import { isIntegerString, stringToNumber } from "./values.js";

/** Default limits of an evaluation. */
export const LOGIC_LIMITS = {
  /** Nodes an evaluation may visit (every operation, value and list item costs one step). */
  steps: 10_000,
  /** How deep operations and lists may nest, in the document and while evaluating. */
  depth: 32,
  /** Characters a string built by `cat` may have. */
  stringLength: 10_000,
  /** Items a list built by `merge`, `map` or `filter` may have. */
  listLength: 10_000,
} as const;

/** A validated expression, ready to evaluate. */
export type LogicNode =
  | { readonly t: "value"; readonly value: JsonValue }
  | { readonly t: "list"; readonly items: readonly LogicNode[]; readonly path: string }
  | {
      readonly t: "var";
      /** The path as written ("order.amount"), the key its value is recorded under. */
      readonly key: string;
      /** Its segments; null reads the whole data. */
      readonly segments: readonly string[] | null;
      /** A path computed by an operation (plain JsonLogic only), checked when evaluated. */
      readonly computed: LogicNode | null;
      readonly fallback: LogicNode | null;
      /** Read at the top scope (the context), not an item inside map, filter and the like. */
      readonly top: boolean;
      readonly path: string;
    }
  | {
      readonly t: "op";
      readonly op: Exclude<Operator, "var">;
      readonly args: readonly LogicNode[];
      readonly top: boolean;
      readonly path: string;
    };

export interface CompileOptions {
  /**
   * The names a `var` path read from the top scope must start with (`order`, `customer`, ...),
   * or null for any path (plain JsonLogic). Paths inside map, filter and the other iterators
   * read the current item and are not restricted.
   */
  roots?: readonly string[] | null;
  /**
   * Whether a `var` path may be computed by an operation (checked when evaluated). Default:
   * only in plain JsonLogic (roots null); rules write every path out.
   */
  computedPaths?: boolean;
  /** Depth limit (default LOGIC_LIMITS.depth). */
  maxDepth?: number;
  /** Where the expression sits in its document, prefixed to every problem's path. */
  path?: string;
}

export interface CompiledLogic {
  readonly source: JsonValue;
  readonly node: LogicNode;
  readonly roots: readonly string[] | null;
}

export type LogicValidation = { ok: true; logic: CompiledLogic } | { ok: false; errors: Problem[] };

/**
 * Validates a JsonLogic expression and compiles it for evaluation. Refused, each with the path
 * of the fault: a number that is not a safe integer; an operator outside the supported set;
 * the wrong number or form of arguments; a form on which JsonLogic implementations disagree; a
 * literal arithmetic cannot read as an integer; a `var` path through `__proto__`, `prototype`
 * or `constructor`, computed, or (with `roots`) outside the context; nesting deeper than the
 * depth limit.
 */
export function compileLogic(logic: unknown, options: CompileOptions = {}): LogicValidation {
  const base = options.path ?? "";
  const errors: Problem[] = [];
  checkJson(logic, base, errors);
  // A fraction is still a number: go on, to name the other faults too. Anything else is not
  // JSON a compiler can walk safely.
  if (errors.some((e) => e.code !== "not_an_integer")) return { ok: false, errors };
  const compiler = new Compiler(
    options.roots ?? null,
    options.computedPaths ?? (options.roots ?? null) === null,
    options.maxDepth ?? LOGIC_LIMITS.depth,
    errors,
  );
  const node = compiler.compile(logic as JsonValue, base, 1, true);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, logic: { source: logic as JsonValue, node, roots: options.roots ?? null } };
}

/** Whether a path segment list reaches a prototype. */
export function forbiddenSegment(segments: readonly string[]): string | undefined {
  return segments.find((s) => FORBIDDEN_SEGMENTS.has(s));
}

class Compiler {
  constructor(
    private readonly roots: readonly string[] | null,
    private readonly computedPaths: boolean,
    private readonly maxDepth: number,
    private readonly errors: Problem[],
  ) {}

  private fail(path: string, code: Problem["code"], message: string): LogicNode {
    this.errors.push(problem(path, code, message));
    return { t: "value", value: null };
  }

  compile(value: JsonValue, path: string, depth: number, top: boolean): LogicNode {
    if (depth > this.maxDepth) {
      return this.fail(path, "too_deep", `nested deeper than ${this.maxDepth} levels`);
    }
    if (Array.isArray(value)) {
      const items = value.map((v, i) => this.compile(v, joinPath(path, i), depth + 1, top));
      if (items.every((n) => n.t === "value")) return { t: "value", value };
      return { t: "list", items, path };
    }
    if (typeof value !== "object" || value === null) return { t: "value", value };
    const keys = Object.keys(value);
    if (keys.length === 0) return { t: "value", value };
    if (keys.length > 1) {
      return this.fail(
        path,
        "invalid",
        `an operation has exactly one key, this object has ${keys.length} (${keys.slice(0, 4).join(", ")})`,
      );
    }
    const op = keys[0] as string;
    const opPath = joinPath(path, op);
    const spec = OPERATORS.get(op);
    if (spec === undefined) {
      const why = NOT_SUPPORTED.get(op);
      return this.fail(
        opPath,
        "unsupported_operator",
        `unsupported operator ${JSON.stringify(op)}${why ? `: ${why}` : ""}`,
      );
    }
    const raw = value[op] as JsonValue;
    let rawArgs: JsonValue[];
    let argPaths: string[];
    if (Array.isArray(raw)) {
      rawArgs = raw;
      argPaths = raw.map((_, i) => joinPath(opPath, i));
    } else {
      if (spec.bare === "none") {
        return this.fail(opPath, "arguments", `${op} takes a list of arguments: {"${op}": [...]}`);
      }
      if (spec.bare === "literal" && isOperation(raw)) {
        return this.fail(
          opPath,
          "ambiguous",
          `write ${op}'s argument in a list ({"${op}": [{...}]}): JsonLogic implementations read a lone computed argument differently`,
        );
      }
      rawArgs = [raw];
      argPaths = [opPath];
    }
    if (rawArgs.length < spec.min || rawArgs.length > spec.max) {
      const want =
        spec.min === spec.max
          ? `${spec.min}`
          : spec.max === Number.POSITIVE_INFINITY
            ? `at least ${spec.min}`
            : `${spec.min} to ${spec.max}`;
      return this.fail(
        opPath,
        "arguments",
        `${op} takes ${want} argument${want === "1" ? "" : "s"}, not ${rawArgs.length}`,
      );
    }
    if (op === "var") return this.compileVar(rawArgs, argPaths, opPath, depth, top);

    const before = this.errors.length;
    const args: LogicNode[] = [];
    for (let i = 0; i < rawArgs.length; i++) {
      // The second argument of an iterator is evaluated once per item, with the item as its data.
      const inner = ITERATORS.has(op) && i === 1;
      args.push(
        this.compile(
          rawArgs[i] as JsonValue,
          argPaths[i] as string,
          depth + 1,
          inner ? false : top,
        ),
      );
    }
    if (this.errors.length === before) {
      this.checkOperation(op as Operator, rawArgs, argPaths, top, opPath);
    }
    return { t: "op", op: op as Exclude<Operator, "var">, args, top, path: opPath };
  }

  private compileVar(
    rawArgs: JsonValue[],
    argPaths: string[],
    opPath: string,
    depth: number,
    top: boolean,
  ): LogicNode {
    const name = rawArgs[0];
    const namePath = argPaths[0] ?? opPath;
    let segments: string[] | null = null;
    let key = "";
    if (name === undefined || name === null || name === "") {
      segments = null;
    } else if (typeof name === "string" || typeof name === "number") {
      key = String(name);
      segments = key.split(".");
    } else if (typeof name === "boolean") {
      return this.fail(namePath, "arguments", "a var path is a string or an integer");
    } else if (this.computedPaths && isOperation(name)) {
      const computed = this.compile(name, namePath, depth + 1, top);
      const fallback =
        rawArgs.length > 1
          ? this.compile(rawArgs[1] as JsonValue, argPaths[1] as string, depth + 1, top)
          : null;
      return { t: "var", key: "", segments: null, computed, fallback, top, path: opPath };
    } else {
      return this.fail(
        namePath,
        "computed_path",
        "a var path must be written out (a string or an integer) so that it can be checked",
      );
    }
    if (!this.checkPath(segments, key, namePath, top)) return { t: "value", value: null };
    const fallback =
      rawArgs.length > 1
        ? this.compile(rawArgs[1] as JsonValue, argPaths[1] as string, depth + 1, top)
        : null;
    return { t: "var", key, segments, computed: null, fallback, top, path: opPath };
  }

  /** Refuses prototype segments everywhere, and paths outside the roots at the top scope. */
  private checkPath(
    segments: readonly string[] | null,
    key: string,
    path: string,
    top: boolean,
  ): boolean {
    if (segments !== null) {
      const bad = forbiddenSegment(segments);
      if (bad !== undefined) {
        this.errors.push(
          problem(path, "forbidden_path", `the path ${JSON.stringify(key)} names ${bad}`),
        );
        return false;
      }
    }
    if (top && this.roots !== null) {
      const root = segments?.[0];
      if (root === undefined || !this.roots.includes(root)) {
        this.errors.push(
          problem(
            path,
            "unknown_root",
            `${segments === null ? "the whole context" : JSON.stringify(key)} is not a field a rule can read: paths start with ${this.roots.join(", ")}`,
          ),
        );
        return false;
      }
    }
    return true;
  }

  private checkKeys(keys: JsonValue[], paths: string[], top: boolean): void {
    keys.forEach((k, i) => {
      const path = paths[i] as string;
      if (typeof k === "string" || typeof k === "number") {
        const key = String(k);
        this.checkPath(key === "" ? null : key.split("."), key, path, top);
      } else if (!isOperation(k)) {
        this.errors.push(problem(path, "arguments", "a key is a string or an integer"));
      }
    });
  }

  /** Operator-specific checks of the written arguments. */
  private checkOperation(
    op: Operator,
    args: JsonValue[],
    paths: string[],
    top: boolean,
    opPath: string,
  ): void {
    const at = (i: number) => paths[i] as string;
    if (ARITHMETIC.has(op)) {
      if (op === "*" && args.length === 1 && typeof args[0] === "string") {
        this.errors.push(problem(at(0), "ambiguous", SINGLE_FACTOR));
        return;
      }
      args.forEach((a, i) => {
        this.checkNumberLiteral(a, at(i), op);
      });
      return;
    }
    switch (op) {
      case "substr":
        // Positions are numbers: json-logic-js adds a string length to the text ("3" + "-2").
        for (const i of [1, 2]) {
          const a = args[i];
          if (a !== undefined && !isOperation(a) && typeof a !== "number") {
            this.errors.push(problem(at(i), "arguments", "a substr position is an integer"));
          }
        }
        return;
      case "==":
      case "!=":
        args.forEach((a, i) => {
          if (a === null) {
            this.errors.push(
              problem(
                at(i),
                "ambiguous",
                `${op} with null: JsonLogic implementations disagree on whether null ${op} 0; use ${op}= (or ! and missing) to test for null`,
              ),
            );
          }
        });
        return;
      case "missing": {
        const first = args[0];
        if (Array.isArray(first)) {
          if (args.length > 1) {
            this.errors.push(
              problem(
                at(1),
                "arguments",
                "missing takes either its keys as arguments or one list of keys, not both",
              ),
            );
            return;
          }
          this.checkKeys(
            first,
            first.map((_, i) => joinPath(at(0), i)),
            top,
          );
          return;
        }
        this.checkKeys(args, paths, top);
        return;
      }
      case "missing_some": {
        const need = args[0];
        if (!isOperation(need) && !(typeof need === "number" && need >= 0)) {
          this.errors.push(
            problem(at(0), "arguments", "missing_some needs a count of keys that must be present"),
          );
        }
        const keys = args[1] as JsonValue;
        if (Array.isArray(keys)) {
          this.checkKeys(
            keys,
            keys.map((_, i) => joinPath(at(1), i)),
            top,
          );
        } else if (!isOperation(keys)) {
          this.errors.push(problem(at(1), "arguments", "missing_some takes a list of keys"));
        }
        return;
      }
      case "map":
      case "filter":
      case "reduce":
      case "all":
      case "none":
      case "some": {
        const list = args[0];
        if (!Array.isArray(list) && !isOperation(list)) {
          this.errors.push(
            problem(
              at(0),
              "arguments",
              `${op} goes through a list: a list or an operation, not a literal`,
            ),
          );
        }
        if (op === "reduce" && args.length < 3) {
          this.errors.push(
            problem(
              opPath,
              "ambiguous",
              "reduce needs an initial value: implementations start from null or from the first item",
            ),
          );
        }
        if (args[1] === null) {
          this.errors.push(
            problem(
              at(1),
              "ambiguous",
              `${op} with null logic: implementations disagree (json-logic-js applies it, others refuse it)`,
            ),
          );
        }
        return;
      }
      default:
        return;
    }
  }

  private checkNumberLiteral(value: JsonValue, path: string, op: string): void {
    if (isOperation(value)) return;
    if (typeof value === "number") return; // a fraction was refused by checkJson already
    if (typeof value === "string") {
      if (isIntegerString(value)) return;
      const n = stringToNumber(value);
      if (Number.isFinite(n)) {
        const why = Number.isInteger(n) ? "is beyond ±(2^53 − 1)" : "is not an integer";
        this.errors.push(problem(path, "not_an_integer", `${JSON.stringify(value)} ${why}`));
      } else {
        this.errors.push(
          problem(
            path,
            "not_a_number",
            `${op} needs an integer: ${JSON.stringify(value)} is not one`,
          ),
        );
      }
      return;
    }
    const what = Array.isArray(value)
      ? "a list"
      : typeof value === "object" && value !== null
        ? "an object"
        : String(value);
    this.errors.push(
      problem(
        path,
        "not_a_number",
        `${op} needs an integer or a string of one, not ${what} (implementations read it differently)`,
      ),
    );
  }
}

/** json-logic-js's `*` returns a lone argument as it is, where other engines cast it. */
export const SINGLE_FACTOR =
  "* of a single string: json-logic-js returns it unchanged, other implementations cast it; multiply at least two numbers";

/** `{"op": ...}`: an object with exactly one key. */
export function isOperation(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value).length === 1;
}
