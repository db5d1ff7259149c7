import { type JsonObject, type JsonValue, joinPath, MAX_JSON_DEPTH } from "./json.js";
import { type Problem, problem } from "./problems.js";

export type JsonParse = { ok: true; value: JsonValue } | { ok: false; errors: Problem[] };

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold raw control characters.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const SPACE = /[ \t\n\r]*/y;

/**
 * Parses JSON text as rule documents are written: like JSON.parse, but also refusing, with
 * their paths, what JSON.parse would hide: a number written with a fraction or an exponent
 * (`1.0`, `1e2`: rules hold integers only, and written so they must be), and a key given
 * twice in one object (JSON.parse keeps the last, so two readers could see two documents).
 */
export function parseRuleJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonParse {
  const errors: Problem[] = [];
  let pos = 0;

  class Stop extends Error {}
  const fail = (path: string, message: string): never => {
    errors.push(problem(path, "syntax", `${message} at offset ${pos}`));
    throw new Stop();
  };
  const space = () => {
    SPACE.lastIndex = pos;
    SPACE.exec(text);
    pos = SPACE.lastIndex;
  };
  const string = (path: string): string => {
    STRING.lastIndex = pos;
    const m = STRING.exec(text);
    if (m === null) return fail(path, "invalid string");
    pos = STRING.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  const value = (path: string, depth: number): JsonValue => {
    space();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= maxDepth) {
        errors.push(problem(path, "too_deep", `nested more than ${maxDepth} levels deep`));
        throw new Stop();
      }
      pos++;
      space();
      if (c === "[") {
        const out: JsonValue[] = [];
        if (text[pos] === "]") {
          pos++;
          return out;
        }
        for (;;) {
          out.push(value(joinPath(path, out.length), depth + 1));
          space();
          if (text[pos] === ",") pos++;
          else if (text[pos] === "]") {
            pos++;
            return out;
          } else return fail(path, "expected , or ]");
        }
      }
      const out: JsonObject = {};
      if (text[pos] === "}") {
        pos++;
        return out;
      }
      for (;;) {
        space();
        if (text[pos] !== '"') return fail(path, "expected a key");
        const key = string(path);
        const at = joinPath(path, key);
        space();
        if (text[pos] !== ":") return fail(at, "expected :");
        pos++;
        const v = value(at, depth + 1);
        if (Object.hasOwn(out, key))
          errors.push(
            problem(at, "duplicate_key", `the key ${JSON.stringify(key)} is given twice`),
          );
        // defineProperty: a "__proto__" key is data here, as in JSON.parse.
        Object.defineProperty(out, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        space();
        if (text[pos] === ",") pos++;
        else if (text[pos] === "}") {
          pos++;
          return out;
        } else return fail(path, "expected , or }");
      }
    }
    if (c === '"') return string(path);
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail(path, "unexpected character");
    pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    if (m[1] !== undefined || m[2] !== undefined) {
      errors.push(problem(path, "not_an_integer", `${m[0]} is not written as an integer`));
    } else if (!Number.isSafeInteger(n)) {
      errors.push(problem(path, "not_an_integer", `${m[0]} is beyond ±(2^53 − 1)`));
    }
    return n;
  };

  try {
    const v = value("", 0);
    space();
    if (pos !== text.length) fail("", "unexpected text after the value");
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: v };
  } catch (e) {
    if (e instanceof Stop) return { ok: false, errors };
    throw e;
  }
}
