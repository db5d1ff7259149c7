import type { Comparison, Condition, Fact, Scalar } from "./condition.js";

/**
 * A parsed condition as a WHERE clause over the `customers` table: its facts are the `facts`
 * jsonb column and `created_at`. Every value, and every attribute key, is a bound parameter
 * appended to `params`; the only text written into the SQL is the whitelisted fact names and
 * fixed operators. The clause may be NULL where the condition is false (a missing fact); every
 * negation is written `IS NOT TRUE`, so NULL never turns into true or false the wrong way.
 *
 * Shapes are chosen for the indexes of migration 10: a stage equality uses the (merchant,
 * stage) index, a tag uses the GIN index on `facts` through `facts @> {"tags": [...]}`.
 */
export function conditionSql(c: Condition, params: unknown[]): string {
  const bind = (v: unknown, cast = "") => {
    params.push(v);
    return `$${params.length}${cast}`;
  };
  /** The fact as jsonb, SQL NULL when the customer has none. */
  const json = (f: Fact): string => {
    if (f.attribute !== undefined) return `(facts->'attributes'->${bind(f.attribute, "::text")})`;
    return `(facts->'${name(f)}')`;
  };
  /** The fact as text when it is a JSON string. */
  const text = (f: Fact): string => {
    if (f.attribute !== undefined) return `(facts->'attributes'->>${bind(f.attribute, "::text")})`;
    return `(facts->>'${name(f)}')`;
  };
  const isNull = (f: Fact) => {
    const j = json(f);
    return `(${j} IS NULL OR ${j} = 'null'::jsonb)`;
  };

  const walk = (n: Condition): string => {
    switch (n.kind) {
      case "constant":
        return n.value ? "TRUE" : "FALSE";
      case "and":
      case "or":
        return `(${n.items.map(walk).join(n.kind === "and" ? " AND " : " OR ")})`;
      case "not":
        return `((${walk(n.item)}) IS NOT TRUE)`;
      case "truthy": {
        if (n.fact.type === "time") return "TRUE";
        const j = json(n.fact);
        return `(CASE jsonb_typeof(${j}) WHEN 'boolean' THEN ${j} = 'true'::jsonb WHEN 'number' THEN ${j} <> '0'::jsonb WHEN 'string' THEN ${j} <> '""'::jsonb WHEN 'array' THEN jsonb_array_length(${j}) > 0 WHEN 'object' THEN TRUE ELSE FALSE END)`;
      }
      case "equal": {
        const eq = equal(n.fact, n.value);
        return n.negated ? `((${eq}) IS NOT TRUE)` : eq;
      }
      case "oneOf": {
        if (n.values.length === 0) return "FALSE";
        const parts: string[] = [];
        const strings = n.values.filter((v): v is string => typeof v === "string");
        const others = n.values.filter((v) => typeof v !== "string" && v !== null);
        if (n.values.includes(null)) parts.push(isNull(n.fact));
        if (strings.length > 0) {
          // A string compared as text, guarded: a number 1 is not the text "1".
          parts.push(
            n.fact.type === "string"
              ? `${text(n.fact)} = ANY(${bind(strings, "::text[]")})`
              : `(jsonb_typeof(${json(n.fact)}) = 'string' AND ${text(n.fact)} = ANY(${bind(strings, "::text[]")}))`,
          );
        }
        if (others.length > 0) {
          parts.push(
            `${json(n.fact)} = ANY(${bind(
              others.map((v) => JSON.stringify(v)),
              "::jsonb[]",
            )})`,
          );
        }
        return `(${parts.join(" OR ")})`;
      }
      case "contains": {
        if (n.fact.type === "list") {
          return `(facts @> ${bind(JSON.stringify({ [name(n.fact)]: [n.value] }), "::jsonb")})`;
        }
        // JsonLogic's `in` on a text is a substring test; an empty text contains nothing.
        const t = text(n.fact);
        return `(jsonb_typeof(${json(n.fact)}) = 'string' AND ${t} <> '' AND strpos(${t}, ${bind(n.value, "::text")}) > 0)`;
      }
      case "compare":
        return compare(n.fact, n.type, n.pairs);
    }
  };

  const equal = (f: Fact, value: Scalar): string => {
    if (value === null) return isNull(f);
    if (f.type === "time") return `(created_at = ${bind(value, "::timestamptz")})`;
    if (f.type === "string" && typeof value === "string") {
      return `(${text(f)} = ${bind(value, "::text")})`;
    }
    return `(${json(f)} = ${bind(JSON.stringify(value), "::jsonb")})`;
  };

  const compare = (
    f: Fact,
    type: "number" | "string" | "time",
    pairs: { op: Comparison; value: string | number }[],
  ): string => {
    if (type === "time") {
      return `(${pairs.map((p) => timeCompare(p.op, p.value as string)).join(" AND ")})`;
    }
    if (type === "number") {
      const j = json(f);
      const terms = pairs.map((p) => `${j} ${p.op} ${bind(JSON.stringify(p.value), "::jsonb")}`);
      return `(jsonb_typeof(${j}) = 'number' AND ${terms.join(" AND ")})`;
    }
    // Code point order, as JavaScript compares (UTF-16 units differ only above U+FFFF).
    const t = text(f);
    const terms = pairs.map((p) => `${t} COLLATE "C" ${p.op} ${bind(p.value, "::text")}`);
    return `(jsonb_typeof(${json(f)}) = 'string' AND ${terms.join(" AND ")})`;
  };

  /**
   * createdAt compared as JsonLogic compares its text (`2026-12-01T09:30:00.000Z`): with a full
   * time that is the same order as the instants; with a date, every time of that day is
   * greater than the date's text, so `> day` and `>= day` mean from its midnight, `< day` and
   * `<= day` before it.
   */
  const timeCompare = (op: Comparison, value: string): string => {
    if (value.length === 10) {
      const midnight = bind(`${value}T00:00:00.000Z`, "::timestamptz");
      return op === ">" || op === ">=" ? `created_at >= ${midnight}` : `created_at < ${midnight}`;
    }
    return `created_at ${op} ${bind(value, "::timestamptz")}`;
  };

  return walk(c);
}

/** A whitelisted fact name, the only text of a condition that reaches the SQL. */
function name(f: Fact): string {
  if (!/^[A-Za-z]+$/.test(f.path)) throw new Error(`not a fact name: ${f.path}`);
  return f.path;
}
