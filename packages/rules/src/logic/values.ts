import type { JsonValue } from "../json.js";
import { EvaluationError } from "../problems.js";

/**
 * JsonLogic's truthiness (jsonlogic.com/truthy): JavaScript's, except that an empty list is
 * false. So 0, "", null, false and [] are false; "0", {} and [0] are true.
 */
export function truthy(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

/**
 * The number a string holds, when JavaScript's Number() and parseFloat() agree on it, else NaN.
 * json-logic-js casts with parseFloat for `+` and `*` and with Number() elsewhere, newer engines
 * with Number(); a string on which they disagree ("" , "12abc", "0x10") is not a number here.
 */
export function stringToNumber(text: string): number {
  const n = Number(text);
  return n === Number.parseFloat(text) ? n : Number.NaN;
}

/** Whether a literal string is one arithmetic accepts: it holds a safe integer. */
export function isIntegerString(text: string): boolean {
  return Number.isSafeInteger(stringToNumber(text));
}

/** +0 for -0: JSON has no negative zero, and results must compare equal everywhere. */
export function noNegativeZero(n: number): number {
  return n === 0 ? 0 : n;
}

function checkInteger(n: number, shown: string, path: string): number {
  if (Number.isNaN(n)) throw new EvaluationError("not_a_number", path, `${shown} is not a number`);
  if (!Number.isInteger(n)) {
    throw new EvaluationError("not_an_integer", path, `${shown} is not an integer`);
  }
  if (!Number.isSafeInteger(n)) {
    throw new EvaluationError("overflow", path, `${shown} is beyond ±(2^53 − 1)`);
  }
  return noNegativeZero(n);
}

/**
 * An arithmetic operand: an integer, or a string holding one. Booleans, null, lists and objects
 * are not numbers (json-logic-js gives NaN for some of them and a number for others, so no
 * answer here would agree with every implementation).
 */
export function toInteger(value: JsonValue, path: string): number {
  if (typeof value === "number") return checkInteger(value, String(value), path);
  if (typeof value === "string") {
    return checkInteger(stringToNumber(value), JSON.stringify(value), path);
  }
  throw new EvaluationError("not_a_number", path, `${describe(value)} is not a number`);
}

/** Checks an arithmetic result. */
export function result(n: number, path: string): number {
  if (!Number.isSafeInteger(n)) {
    if (Number.isNaN(n))
      throw new EvaluationError("not_a_number", path, "the result is not a number");
    throw new EvaluationError("overflow", path, "the result is beyond ±(2^53 − 1)");
  }
  return noNegativeZero(n);
}

/** A comparison operand as JavaScript's relational operators read it: null is 0, true is 1. */
function toComparable(value: JsonValue, path: string): number {
  if (value === null) return 0;
  if (typeof value === "boolean") return value ? 1 : 0;
  return toInteger(value, path);
}

function checkScalar(value: JsonValue, path: string, op: string): void {
  if (typeof value === "object" && value !== null) {
    throw new EvaluationError(
      "not_a_number",
      path,
      `${op} compares strings, numbers, booleans and null, not ${describe(value)}`,
    );
  }
}

/** `a < b` (and <=, >, >= through it): two strings by UTF-16 code units, anything else as numbers. */
export function compare(a: JsonValue, b: JsonValue, path: string, op: string): number {
  checkScalar(a, path, op);
  checkScalar(b, path, op);
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const x = toComparable(a, path);
  const y = toComparable(b, path);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * JavaScript's `==` on JSON scalars: the same type compares strictly; null equals only null;
 * otherwise both sides are read as numbers (a string that holds none is an error, not false).
 */
export function looseEqual(a: JsonValue, b: JsonValue, path: string, op: string): boolean {
  checkScalar(a, path, op);
  checkScalar(b, path, op);
  if (typeof a === typeof b) return a === b;
  if (a === null || b === null) return false;
  return toComparable(a, path) === toComparable(b, path);
}

/** `===` on JSON scalars (lists and objects have no identity a rule could rely on). */
export function strictEqual(a: JsonValue, b: JsonValue, path: string, op: string): boolean {
  for (const v of [a, b]) {
    if (typeof v === "object" && v !== null) {
      throw new EvaluationError(
        "invalid_arguments",
        path,
        `${op} compares strings, numbers, booleans and null, not ${describe(v)}`,
      );
    }
  }
  return a === b;
}

/** What a value is, for messages. */
export function describe(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  return String(value);
}

/** String.prototype.substr(start, length), which JsonLogic's substr is defined by. */
export function substr(text: string, start: number, length?: number): string {
  const size = text.length;
  const from = start < 0 ? Math.max(size + start, 0) : Math.min(start, size);
  const count = length === undefined ? size - from : Math.min(Math.max(length, 0), size - from);
  return text.slice(from, from + count);
}
