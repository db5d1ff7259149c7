import { type Problem, problem } from "./problems.js";

/** A JSON value as rules and their contexts hold it: numbers are always safe integers. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/** How deep a rule document or a context may nest (objects and arrays). */
export const MAX_JSON_DEPTH = 64;

/** A plain JSON object: made by a literal or JSON.parse (or with a null prototype), not an array. */
export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `a.b`, `a.0`: the dotted paths problems and recorded inputs are named by. */
export function joinPath(base: string, segment: string | number): string {
  return base === "" ? String(segment) : `${base}.${segment}`;
}

const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean })
  .isWellFormed;

/** Whether a string is valid Unicode (no lone surrogate), which RFC 8785 hashing requires. */
export function isWellFormed(text: string): boolean {
  if (nativeWellFormed !== undefined) return nativeWellFormed.call(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * Checks that `value` is plain JSON whose every number is a safe integer, appending a problem
 * (with its path) for each fault: a fraction, NaN, an infinity, an unsafe integer, a lone
 * surrogate, a value JSON cannot hold (undefined, a function, a Date, a Map, a cycle, a hole),
 * or nesting deeper than `maxDepth`.
 */
export function checkJson(
  value: unknown,
  path: string,
  problems: Problem[],
  maxDepth = MAX_JSON_DEPTH,
): void {
  // Most values are clean: checked first without building paths, walked again only to name
  // their faults.
  if (clean(value, 0, maxDepth)) return;
  walk(value, path, problems, 0, maxDepth, new Set());
}

/** Whether walk() would find no fault (a cycle is found as nesting beyond maxDepth). */
function clean(value: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof value) {
    case "boolean":
      return true;
    case "string":
      return isWellFormed(value);
    case "number":
      return Number.isSafeInteger(value);
    case "object": {
      if (value === null) return true;
      if (depth >= maxDepth) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !clean(value[i], depth + 1, maxDepth)) return false;
        }
        return true;
      }
      if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        if (!isWellFormed(key) || !clean(value[key], depth + 1, maxDepth)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function walk(
  value: unknown,
  path: string,
  problems: Problem[],
  depth: number,
  maxDepth: number,
  ancestors: Set<object>,
): void {
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      if (!isWellFormed(value))
        problems.push(problem(path, "not_json", "string has a lone surrogate"));
      return;
    case "number":
      if (!Number.isSafeInteger(value)) {
        problems.push(
          problem(path, "not_an_integer", `${describeNumber(value)} is not an integer`),
        );
      }
      return;
    case "object": {
      if (value === null) return;
      if (depth >= maxDepth) {
        problems.push(problem(path, "too_deep", `nested more than ${maxDepth} levels deep`));
        return;
      }
      if (ancestors.has(value)) {
        problems.push(problem(path, "not_json", "circular reference"));
        return;
      }
      ancestors.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) problems.push(problem(joinPath(path, i), "not_json", "array hole"));
          else walk(value[i], joinPath(path, i), problems, depth + 1, maxDepth, ancestors);
        }
      } else if (!isPlainObject(value)) {
        const kind = (value as object).constructor?.name ?? "object";
        problems.push(problem(path, "not_json", `${kind} is not a plain JSON object`));
      } else if (Object.getOwnPropertySymbols(value).length > 0) {
        problems.push(problem(path, "not_json", "symbol keys are not JSON"));
      } else {
        for (const [key, item] of Object.entries(value)) {
          if (!isWellFormed(key)) {
            problems.push(problem(path, "not_json", "a key has a lone surrogate"));
          } else {
            walk(item, joinPath(path, key), problems, depth + 1, maxDepth, ancestors);
          }
        }
      }
      ancestors.delete(value);
      return;
    }
    default:
      problems.push(problem(path, "not_json", `${typeof value} is not a JSON value`));
  }
}

export function describeNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  if (Number.isInteger(n)) return `${n} (beyond ±2^53 − 1, so not exact)`;
  return String(n);
}

/** Deep equality of two JSON values (object keys in any order). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++)
      if (!jsonEqual(a[i] as JsonValue, b[i] as JsonValue)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k] as JsonValue, b[k] as JsonValue)) return false;
  }
  return true;
}
