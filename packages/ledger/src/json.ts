import canonicalizeModule from "canonicalize";
import { isWellFormedUnicode, utf8Encode } from "./encoding.js";

// Shared by entries and commands: both are hashed or signed as RFC 8785 JSON, so both must refuse
// the same non-JSON values and read timestamps the same way.

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

type Canonicalize = (input: unknown) => string | undefined;
// canonicalize is CommonJS typed as if it had a default export: Node gives ESM the function
// itself, while some bundlers give a namespace whose `default` is the function.
const canonicalizeAny: unknown = canonicalizeModule;
const canonicalize = (
  typeof canonicalizeAny === "function"
    ? canonicalizeAny
    : (canonicalizeAny as { default: unknown }).default
) as Canonicalize;

/** JCS text of a value already checked by assertJson, without checking it again. */
export function canonicalizeChecked(value: unknown): string {
  return onePass(value) ?? (canonicalize(value) as string);
}

// canonicalize quietly drops undefined members, turns undefined array items into null, calls
// toJSON (Date, ...) and serializes class instances by their own keys. A signed or hashed value
// must mean exactly what the caller passed, so anything that is not plain JSON is refused first.
export function assertJson(value: unknown, path: string, ancestors = new Set<object>()): void {
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      // RFC 8785 §3.2.2.2: lone surrogates must be an error.
      if (!isWellFormedUnicode(value)) throw new TypeError(`${path}: string has a lone surrogate`);
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a JSON number`);
      return;
    case "object": {
      if (value === null) return;
      if (ancestors.has(value)) throw new TypeError(`${path}: circular reference`);
      ancestors.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new TypeError(`${path}[${i}]: array hole`);
          assertJson(value[i], `${path}[${i}]`, ancestors);
        }
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const kind = (value as object).constructor?.name ?? "object";
          throw new TypeError(`${path}: ${kind} is not a plain JSON object`);
        }
        if (Object.getOwnPropertySymbols(value).length > 0) {
          throw new TypeError(`${path}: symbol keys are not JSON`);
        }
        for (const [k, v] of Object.entries(value)) {
          if (!isWellFormedUnicode(k)) throw new TypeError(`${path}: key has a lone surrogate`);
          assertJson(v, `${path}.${k}`, ancestors);
        }
      }
      ancestors.delete(value);
      return;
    }
    default:
      throw new TypeError(`${path}: ${typeof value} is not a JSON value`);
  }
}

/**
 * Whether `text`, which `JSON.parse` read as `parsed`, is exactly the RFC 8785 form of it; or
 * "invalid" when `parsed` holds what JCS refuses (a lone surrogate from an escape, a number
 * beyond a double's range), which `assertJson` then names.
 *
 * JCS is `JSON.stringify` with every object's keys in UTF-16 order (RFC 8785 §3.2.2 serialises
 * strings and numbers as ECMAScript does), so when the parsed keys are already in that order
 * the native serialiser decides alone. V8 lists integer-like keys first, out of that order;
 * such a value takes the slow way through the library.
 */
export function isCanonicalText(parsed: unknown, text: string): boolean | "invalid" {
  const order = parsedOrder(parsed);
  if (order === INVALID) return "invalid";
  return (order === SORTED ? JSON.stringify(parsed) : canonicalize(parsed)) === text;
}

const SORTED = 0;
const UNSORTED = 1;
const INVALID = 2;

// A value from JSON.parse is plain data without cycles, holes or symbols: only its strings and
// numbers can be what JCS refuses. Paths are left to assertJson, on the rare failure.
function parsedOrder(value: unknown): number {
  if (typeof value === "string") return isWellFormedUnicode(value) ? SORTED : INVALID;
  if (typeof value === "number") return Number.isFinite(value) ? SORTED : INVALID;
  if (typeof value !== "object" || value === null) return SORTED;
  let order = SORTED;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const o = parsedOrder(value[i]);
      if (o === INVALID) return INVALID;
      if (o === UNSORTED) order = UNSORTED;
    }
    return order;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (!isWellFormedUnicode(k)) return INVALID;
    if (i > 0 && !((keys[i - 1] as string) < k)) order = UNSORTED;
    const o = parsedOrder((value as Record<string, unknown>)[k]);
    if (o === INVALID) return INVALID;
    if (o === UNSORTED) order = UNSORTED;
  }
  return order;
}

/** RFC 8785 (JCS) serialization. Throws TypeError on anything that is not plain JSON data. */
export function canonicalJson(value: unknown): string {
  const text = onePass(value);
  if (text !== undefined) return text;
  // Whatever the one-pass writer does not take (a fault, a cycle, a deep or odd value) goes the
  // long way: assertJson names the fault with its path, the library writes the rest.
  assertJson(value, "$");
  return canonicalize(value) as string;
}

/** The one-pass writer's text, or undefined when the value must take the long way. */
function onePass(value: unknown): string | undefined {
  try {
    return serialize(value, 0);
  } catch (e) {
    if (e !== SLOW) throw e;
    return undefined;
  }
}

const SLOW = new Error("canonical JSON: the long way");
// Deeper than this is either a cycle or rare enough for the long way, which detects cycles.
const MAX_FAST_DEPTH = 64;

// Nothing JSON.stringify would escape (quote, backslash, control characters) and no surrogate,
// paired or not: such a string is written as it is, which is most ids, types and times.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it excludes
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function quote(s: string): string {
  if (PLAIN_STRING.test(s)) return `"${s}"`;
  if (!isWellFormedUnicode(s)) throw SLOW;
  return JSON.stringify(s);
}

/**
 * JCS in one pass, checking what assertJson checks without building a path or a set of ancestors
 * per member: ledger entries and sealed fields are serialised on every write, and this is most
 * of a write's JSON cost. Strings and numbers are written by JSON.stringify, whose forms RFC 8785
 * adopts; keys are sorted by UTF-16 code units, as Array.prototype.sort does. Anything it does not
 * take throws SLOW.
 */
function serialize(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      if (!Number.isFinite(value)) throw SLOW;
      // ECMAScript's Number::toString, as JSON.stringify writes it and RFC 8785 requires.
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (depth > MAX_FAST_DEPTH) throw SLOW;
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw SLOW;
          out += i === 0 ? serialize(value[i], depth + 1) : `,${serialize(value[i], depth + 1)}`;
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw SLOW;
      if (Object.getOwnPropertySymbols(value).length > 0) throw SLOW;
      const keys = Object.keys(value);
      // Insertion sort by UTF-16 code units, as the default sort compares: objects here have a
      // handful of keys, mostly in order, and Array.prototype.sort allocates a work array per
      // call, which was a tenth of a write's garbage. Large objects take the built-in sort.
      if (keys.length > 32) keys.sort();
      else
        for (let i = 1; i < keys.length; i++) {
          const k = keys[i] as string;
          let j = i - 1;
          while (j >= 0 && (keys[j] as string) > k) {
            keys[j + 1] = keys[j] as string;
            j--;
          }
          keys[j + 1] = k;
        }
      let out = "{";
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        // The library hands an object with a toJSON member to JSON.stringify: keep its bytes.
        if (k === "toJSON") throw SLOW;
        const v = serialize((value as Record<string, unknown>)[k], depth + 1);
        out += `${i === 0 ? "" : ","}${quote(k)}:${v}`;
      }
      return `${out}}`;
    }
    default:
      throw SLOW;
  }
}

/** UTF-8 bytes of canonicalJson(value). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalJson(value));
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Milliseconds since the epoch of an RFC 3339 UTC timestamp (`Z`, optional fraction of up to 9
 * digits), or undefined when it is not one. A fraction finer than a millisecond rounds up, so
 * that for a clock in whole milliseconds `now >= millis(t)` holds exactly when t is at or before
 * now. Leap seconds (":60") are refused: JavaScript dates cannot represent them.
 */
export function rfc3339UtcMillis(s: string): number | undefined {
  const m = typeof s === "string" ? RFC3339_UTC.exec(s) : null;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1) return undefined;
  const days = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > days || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as given.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const fraction = m[7] ?? "";
  const wholeMs = Number(fraction.padEnd(3, "0").slice(0, 3));
  const finer = /[1-9]/.test(fraction.slice(3)) ? 1 : 0;
  return date.getTime() + wholeMs + finer;
}

export function isRfc3339Utc(s: string): boolean {
  return rfc3339UtcMillis(s) !== undefined;
}
