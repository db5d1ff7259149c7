import fc from "fast-check";
import jsonLogic, { type RulesLogic } from "json-logic-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { migrate } from "../db/migrations.js";
import { backends } from "../test-support/backends.js";
import { type Condition, ConditionError, parseCondition } from "./condition.js";
import { conditionSql } from "./sql.js";

const sql = (c: unknown) => {
  const params: unknown[] = [];
  return { sql: conditionSql(parseCondition(c), params), params };
};

const fault = (c: unknown) => {
  try {
    parseCondition(c);
  } catch (err) {
    if (err instanceof ConditionError) return { path: err.path, message: err.message };
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(c)}`);
};

describe("parsing a condition", () => {
  it("accepts the supported subset", () => {
    const ok: unknown[] = [
      true,
      { "==": [{ var: "stage" }, "loyal"] },
      { "===": ["loyal", { var: ["stage"] }] },
      { and: [{ in: ["vip", { var: "tags" }] }, { "!": { in: ["b2b", { var: "tags" }] } }] },
      { or: [{ ">=": [{ var: "attributes.visits" }, 3] }, { "<": [2, { var: "birthMonth" }, 6] }] },
      { in: [{ var: "country" }, ["FR", "BE", null]] },
      { "!!": { var: "language" } },
      { var: "attributes.member" },
      { ">": [{ var: "createdAt" }, "2026-01-01"] },
      { "<=": ["2026-01-01T00:00:00.000Z", { var: "createdAt" }, "2026-02-01"] },
      { "!=": [{ var: "language" }, null] },
      { in: ["fr", { var: "language" }] },
    ];
    for (const c of ok) expect(() => parseCondition(c), JSON.stringify(c)).not.toThrow();
  });

  it("refuses everything else with the JSON path of the fault", () => {
    const cases: [unknown, string, RegExp][] = [
      [{ "==": [{ var: "name" }, "José"] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: "emails" }, "a@b.c"] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: "attributes.__proto__" }, 1] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: "constructor.prototype" }, 1] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: "attributes.a.b" }, 1] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: "" }, 1] }, '$["=="][0].var', /not a fact/],
      [{ "==": [{ var: ["stage", "loyal"] }, 1] }, '$["=="][0].var', /without a default/],
      [{ and: [true, { "+": [1, 2] }] }, "$.and[1]", /not a supported operator/],
      [{ and: [] }, "$.and", /at least one/],
      [{ "==": [{ var: "stage" }, 3] }, '$["=="]', /stage is a string, not a number/],
      [{ "==": [{ var: "tags" }, "vip"] }, '$["=="]', /tags is a list/],
      [{ "==": [{ var: "stage" }, { var: "country" }] }, '$["=="]', /not with another fact/],
      [{ "==": [1, 1] }, '$["=="]', /one fact with one value/],
      [{ "==": [{ var: "stage" }] }, '$["=="]', /takes 2 arguments/],
      [{ ">": [{ var: "birthMonth" }, 1, 2] }, '$[">"]', /takes 2 arguments/],
      [{ "<": [{ var: "birthMonth" }, "6"] }, '$["<"]', /birthMonth is a number/],
      [{ "<": [{ var: "birthMonth" }, null] }, '$["<"]', /numbers with numbers/],
      [{ "<": [{ var: "createdAt" }, "last week"] }, '$["<"]', /createdAt compares/],
      [{ "<": [{ var: "createdAt" }, "2026-02-30"] }, '$["<"]', /createdAt compares/],
      [{ in: [{ var: "tags" }, ["vip"]] }, "$.in[0]", /tags is a list/],
      [{ in: ["vip", "very vip"] }, "$.in", /in asks for/],
      [{ in: [3, { var: "tags" }] }, "$.in", /in asks for/],
      [{ stage: "loyal" }, "$", /not a supported operator/],
      [{ "==": [{ var: "stage" }, "loyal"], and: [] }, "$", /exactly one operator/],
      ["loyal", "$", /expected an operation/],
      [{ "==": [{ var: "stage" }, "x".repeat(201)] }, '$["=="][1]', /at most 200/],
      [{ in: [{ var: "stage" }, Array(501).fill("a")] }, "$.in[1]", /at most 500/],
      [{ "==": [{ var: "attributes.x" }, { "==": [1, 1] }] }, '$["=="][1]', /not operations/],
    ];
    for (const [c, path, message] of cases) {
      const f = fault(c);
      expect(f.path, JSON.stringify(c).slice(0, 100)).toBe(path);
      expect(f.message, JSON.stringify(c).slice(0, 100)).toMatch(message);
    }
  });

  it("limits depth and size", () => {
    let deep: unknown = true;
    for (let i = 0; i < 13; i++) deep = { "!": deep };
    expect(fault(deep).message).toMatch(/nest at most 12/);
    const wide = { or: Array.from({ length: 400 }, () => true) };
    expect(fault(wide).message).toMatch(/more than 300/);
  });
});

describe("the SQL of a condition", () => {
  it("binds every value and attribute key; only whitelisted names are in the text", () => {
    const hostile = "'); DROP TABLE customers; --";
    const s = sql({
      and: [
        { "==": [{ var: "stage" }, hostile] },
        { in: [hostile, { var: "tags" }] },
        { "==": [{ var: "attributes.x" }, hostile] },
      ],
    });
    expect(s.sql).not.toContain("DROP");
    expect(s.params).toContain(hostile);
    expect(s.params).toContain("x");
  });

  it("uses the stage index's expression and the facts containment for tags", () => {
    expect(sql({ "==": [{ var: "stage" }, "loyal"] }).sql).toBe("((facts->>'stage') = $1::text)");
    expect(sql({ in: ["vip", { var: "tags" }] })).toEqual({
      sql: "(facts @> $1::jsonb)",
      params: ['{"tags":["vip"]}'],
    });
  });
});

// ---- The same conditions in SQL and in json-logic-js, on the same customers. ----

const TAGS = ["vip", "newsletter", "b2b", "Vip", "vip 2"];
const STAGES = ["prospect", "first_purchase", "repeat", "loyal", "at_risk", "lapsed"];
const LANGUAGES = ["fr", "en", "zh-CN"];
const COUNTRIES = ["FR", "CN", "US"];
const BANDS = ["18-24", "25-34", "65+"];
const CHANNELS = ["email", "phone", "wechat"];
const TEXTS = ["gold", "silver", "", "3", "10", "abc", "Gold", "é"];
/** In "typed" data every attribute has one type, as a merchant's data usually does. */
const ATTRIBUTE_TYPES = { visits: "number", member: "boolean", plan: "string", score: "number" };
type AttributeKey = keyof typeof ATTRIBUTE_TYPES;
const ATTRIBUTES = Object.keys(ATTRIBUTE_TYPES) as AttributeKey[];

interface Customer {
  id: string;
  facts: Record<string, unknown>;
  createdAt: string;
}

const nullable = <T>(a: fc.Arbitrary<T>, complete: boolean) =>
  complete ? a : fc.option(a, { nil: null, freq: 3 });

const number = fc.oneof(fc.integer({ min: -3, max: 20 }), fc.constantFrom(0, 2.5, -0.5, 1e21));
const anyScalar = fc.oneof(number, fc.boolean(), fc.constantFrom(...TEXTS));
const valueOfType = (t: string): fc.Arbitrary<unknown> =>
  t === "number" ? number : t === "boolean" ? fc.boolean() : fc.constantFrom(...TEXTS);

const customerArb = (complete: boolean) =>
  fc.record({
    stage: fc.constantFrom(...STAGES),
    tags: fc.subarray(TAGS),
    language: nullable(fc.constantFrom(...LANGUAGES), complete),
    country: nullable(fc.constantFrom(...COUNTRIES), complete),
    ageBand: nullable(fc.constantFrom(...BANDS), complete),
    birthMonth: nullable(fc.integer({ min: 1, max: 12 }), complete),
    channels: fc.subarray(CHANNELS),
    attributes: complete
      ? fc.record(Object.fromEntries(ATTRIBUTES.map((k) => [k, valueOfType(ATTRIBUTE_TYPES[k])])))
      : fc.dictionary(fc.constantFrom(...ATTRIBUTES), anyScalar, { maxKeys: 4 }),
    createdAt: fc
      .integer({ min: Date.UTC(2025, 11, 30), max: Date.UTC(2026, 0, 3) })
      // Often exactly midnight: where a date's text and an instant differ.
      .map((ms) => new Date(ms % 7 === 0 ? ms - (ms % 86_400_000) : ms).toISOString()),
  });

/** Conditions over those facts; `typed` keeps every value of its fact's type. */
function conditionArb(typed: boolean): fc.Arbitrary<unknown> {
  const attribute = fc.constantFrom(...ATTRIBUTES);
  const attributeValue = (k: AttributeKey) =>
    typed ? valueOfType(ATTRIBUTE_TYPES[k]) : fc.oneof(anyScalar, fc.constant(null));
  const swap = (a: unknown, b: unknown) => fc.boolean().map((s) => (s ? [b, a] : [a, b]));
  const v = (name: string) => ({ var: name });
  const equality = fc.oneof(
    fc.tuple(
      fc.constantFrom("stage", "language", "country", "ageBand"),
      fc.constantFrom(...STAGES, ...LANGUAGES, ...COUNTRIES, ...BANDS, ...(typed ? [] : [null])),
    ),
    fc.tuple(
      fc.constant("birthMonth"),
      typed ? fc.integer({ min: 0, max: 13 }) : fc.option(fc.integer({ min: 0, max: 13 })),
    ),
    attribute.chain((k) => fc.tuple(fc.constant(`attributes.${k}`), attributeValue(k))),
  );
  const equal = fc
    .tuple(fc.constantFrom("==", "===", "!=", "!=="), equality)
    .chain(([op, [name, value]]) => swap(v(name), value).map((args) => ({ [op]: args })));
  const ordered = fc.oneof(
    fc.tuple(fc.constant("birthMonth"), fc.integer({ min: 0, max: 13 })),
    fc.tuple(fc.constantFrom("stage", "country"), fc.constantFrom(...STAGES, ...COUNTRIES, "M")),
    // Booleans have no order: typed conditions compare only the number and text attributes.
    (typed ? fc.constantFrom<AttributeKey>("visits", "plan", "score") : attribute).chain((k) =>
      fc.tuple(
        fc.constant(`attributes.${k}`),
        typed ? valueOfType(ATTRIBUTE_TYPES[k]) : fc.oneof(number, fc.constantFrom(...TEXTS)),
      ),
    ),
    fc.tuple(
      fc.constant("createdAt"),
      fc.oneof(
        fc.constantFrom("2025-12-31", "2026-01-01", "2026-01-02"),
        fc
          .integer({ min: Date.UTC(2025, 11, 30), max: Date.UTC(2026, 0, 3) })
          .map((ms) => new Date(ms - (ms % 3_600_000)).toISOString()),
      ),
    ),
  );
  const compare = fc.oneof(
    fc
      .tuple(fc.constantFrom("<", "<=", ">", ">="), ordered)
      .chain(([op, [name, value]]) => swap(v(name), value).map((args) => ({ [op]: args }))),
    // between: a < fact < b, with bounds of the fact's type
    fc
      .tuple(fc.constantFrom("<", "<="), ordered, ordered)
      .filter(([, [a], [b]]) => a === b)
      .map(([op, [name, low], [, high]]) =>
        typeof low === typeof high ? { [op]: [low, v(name), high] } : { [op]: [low, v(name), low] },
      ),
  );
  const oneOf = fc.oneof(
    fc
      .tuple(
        fc.constantFrom("stage", "language", "country"),
        fc.subarray([...STAGES, ...LANGUAGES, "FR"]),
      )
      .map(([name, list]) => ({ in: [v(name), typed ? list : [...list, null]] })),
    fc
      .tuple(fc.constant("birthMonth"), fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }))
      .map(([name, list]) => ({ in: [v(name), list] })),
    attribute.chain((k) =>
      fc
        .array(attributeValue(k), { maxLength: 4 })
        .map((list) => ({ in: [v(`attributes.${k}`), list] })),
    ),
  );
  const contains = fc
    .oneof(
      fc.tuple(fc.constantFrom(...TAGS, "vi", ""), fc.constantFrom("tags")),
      fc.tuple(fc.constantFrom(...CHANNELS), fc.constant("channels")),
      fc.tuple(
        fc.constantFrom("r", "zh", "", "C"),
        fc.constantFrom("stage", "language", "country"),
      ),
      fc.tuple(
        fc.constantFrom("ol", "", "1", "a"),
        attribute.map((k) => `attributes.${k}`),
      ),
    )
    .map(([text, name]) => ({ in: [text, v(name)] }));
  const truthy = fc
    .constantFrom(
      "language",
      "tags",
      "channels",
      "birthMonth",
      ...ATTRIBUTES.map((k) => `attributes.${k}`),
    )
    .chain((name) => fc.constantFrom(v(name), { "!!": v(name) }, { "!!": [v(name)] }));
  const leaf = fc.oneof(equal, compare, oneOf, contains, truthy, fc.boolean());
  const { node } = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("node"), { minLength: 1, maxLength: 3 }).map((items) => ({ and: items })),
      fc.array(tie("node"), { minLength: 1, maxLength: 3 }).map((items) => ({ or: items })),
      tie("node").map((item) => ({ "!": item })),
      tie("node").map((item) => ({ "!": [item] })),
    ),
  }));
  return node;
}

// The documented dialect, as json-logic-js operations: equality without coercion, order only
// between two numbers or two texts.
const sameType = (a: unknown, b: unknown) =>
  (typeof a === "number" && typeof b === "number") ||
  (typeof a === "string" && typeof b === "string");
type Ordered = number | string;
jsonLogic.add_operation("patron<", (a: Ordered, b: Ordered, c?: Ordered) =>
  c === undefined ? sameType(a, b) && a < b : sameType(a, b) && sameType(b, c) && a < b && b < c,
);
jsonLogic.add_operation("patron<=", (a: Ordered, b: Ordered, c?: Ordered) =>
  c === undefined ? sameType(a, b) && a <= b : sameType(a, b) && sameType(b, c) && a <= b && b <= c,
);
jsonLogic.add_operation("patron>", (a: Ordered, b: Ordered) => sameType(a, b) && a > b);
jsonLogic.add_operation("patron>=", (a: Ordered, b: Ordered) => sameType(a, b) && a >= b);
const DIALECT: Record<string, string> = {
  "==": "===",
  "!=": "!==",
  "<": "patron<",
  "<=": "patron<=",
  ">": "patron>",
  ">=": "patron>=",
};
function dialect(rule: unknown): unknown {
  if (Array.isArray(rule)) return rule.map(dialect);
  if (rule && typeof rule === "object") {
    const [op, args] = Object.entries(rule)[0] as [string, unknown];
    if (op === "var") return rule;
    return { [DIALECT[op] ?? op]: dialect(args) };
  }
  return rule;
}

const evaluate = (rule: unknown, c: Customer) =>
  jsonLogic.truthy(
    jsonLogic.apply(rule as RulesLogic, { ...c.facts, createdAt: c.createdAt }) as unknown,
  );

describe.each(backends)("conditions in SQL agree with json-logic-js ($name)", (backend) => {
  let db: Database;
  const customers: Record<"mixed" | "typed", Customer[]> = { mixed: [], typed: [] };

  beforeAll(async () => {
    const { config, schema, cleanup } = backend.config();
    cleanup();
    db = await openDatabase({ url: config.databaseUrl, schema });
    await migrate(db);
    for (const kind of ["mixed", "typed"] as const) {
      const facts = fc.sample(customerArb(kind === "typed"), { numRuns: 80, seed: 7 });
      customers[kind] = facts.map(({ createdAt, ...f }, i) => ({
        id: `c_${kind}${i}`,
        facts: f,
        createdAt,
      }));
      await db.query(
        `INSERT INTO customers (id, merchant_id, status, facts, created_at, updated_at, created_idx, entry_idx)
         SELECT id, $1, 'active', f, t, t, n, n
         FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[], $5::bigint[]) AS x(id, f, t, n)`,
        [
          `m_${kind}`,
          customers[kind].map((c) => c.id),
          customers[kind].map((c) => JSON.stringify(c.facts)),
          customers[kind].map((c) => c.createdAt),
          customers[kind].map((_, i) => String(i)),
        ],
      );
    }
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  const selected = async (kind: "mixed" | "typed", c: Condition) => {
    const params: unknown[] = [`m_${kind}`];
    const where = conditionSql(c, params);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM customers WHERE merchant_id = $1 AND status = 'active' AND (${where})`,
      params,
    );
    return rows.map((r) => r.id).sort();
  };

  it("on any data, as the documented dialect (json-logic-js without coercion)", async () => {
    await fc.assert(
      fc.asyncProperty(conditionArb(false), async (rule) => {
        const parsed = parseCondition(rule);
        const expected = customers.mixed
          .filter((c) => evaluate(dialect(rule), c))
          .map((c) => c.id)
          .sort();
        expect(await selected("mixed", parsed)).toEqual(expected);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("on data whose facts are present and typed, as plain json-logic-js", async () => {
    await fc.assert(
      fc.asyncProperty(conditionArb(true), async (rule) => {
        const parsed = parseCondition(rule);
        const expected = customers.typed
          .filter((c) => evaluate(rule, c))
          .map((c) => c.id)
          .sort();
        expect(await selected("typed", parsed)).toEqual(expected);
      }),
      { numRuns: 300, seed: 43 },
    );
  });
});
