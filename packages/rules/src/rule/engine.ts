import { checkJson, isPlainObject, type JsonObject, type JsonValue, jsonEqual } from "../json.js";
import { forbiddenSegment, type LogicNode } from "../logic/compile.js";
import {
  type EvaluateOptions,
  type Inputs,
  type Lookup,
  lookup,
  Machine,
} from "../logic/evaluate.js";
import { truthy } from "../logic/values.js";
import { EvaluationError, type Problem, RuleValidationError } from "../problems.js";
import {
  type CapName,
  type Caps,
  type CheckedRule,
  CONTEXT_ROOTS,
  checkRule,
  type ItemFilter,
  type MultiplierAction,
  type Rounding,
  RULE_ID,
  RULE_KINDS,
  type Rule,
  type RuleKind,
  type Scope,
} from "./document.js";
import { ruleHash } from "./hash.js";

/**
 * One published version of a rule: the document as published, its hash, and the id and
 * version number it was published under (which the ledger entry binds to the hash).
 */
export interface RuleVersion {
  readonly id: string;
  readonly version: number;
  /** ruleHash(document). */
  readonly hash: string;
  readonly document: JsonValue;
  readonly rule: Rule;
}

/**
 * What a rule is evaluated over. Every number is an integer; amounts are in minor units.
 * Only the fields named below are read by the engine itself; conditions may read any field of
 * `order`, `customer`, `event` and `time` (never a personal one: see docs/rules.md).
 */
export interface RuleContext {
  /** `amount`, `channel`, `store`, `items: [{ product, category, amount, quantity }]`, ... */
  order?: JsonObject;
  /** `tier`, `segments: [...]`, flags such as `birthdayWeek`, counts such as `orders`, ... */
  customer?: JsonObject;
  /** What happened: `type`, `campaign`, ... */
  event?: JsonObject;
  /** timeContext(...): `ms` (compared with validFrom and validUntil), `date`, `weekday`, ... */
  time?: JsonObject;
  /**
   * Points each rule already awarded this customer (any version), for the caps:
   * `{ "<rule id>": { "day": n, "period": n, "customer": n } }`, counted by the caller over the
   * day and the cap's period in the merchant's time zone. Absent counts are 0.
   */
  usage?: JsonObject;
  /**
   * For a multiplier evaluated alone: the points of the awards it multiplies, by rule id.
   * evaluateRules fills it in itself.
   */
  awards?: JsonObject;
}

/** The context's parts. */
export const CONTEXT_PARTS = [...CONTEXT_ROOTS, "usage", "awards"] as const;

/** Why a rule did not apply. */
export type NotApplied = "window" | "scope" | "condition";

/** One rule's result over one context, before stacking. */
export interface RuleOutcome {
  applies: boolean;
  /** Why not, when it does not apply. */
  reason?: NotApplied;
  /** Points awarded (after caps); 0 for tier and expire actions and when it does not apply. */
  points: number;
  /** The points before a cap lowered them, with the cap that did. */
  uncapped?: number;
  cappedBy?: CapName;
  /** A tier action's tier. */
  tier?: string;
  /** An expire action's days. */
  days?: number;
  /** Every input the rule read and found, by path (docs/rules.md, "Inputs"). */
  inputs: Inputs;
  steps: number;
}

/** An applying rule's award: what a derived ledger entry records. */
export interface Award {
  rule: string;
  version: number;
  hash: string;
  kind: RuleKind;
  points: number;
  uncapped?: number;
  cappedBy?: CapName;
  tier?: string;
  days?: number;
  /** Every input the rule read, enough for recompute() to give the same award. */
  inputs: Inputs;
}

/** What happened to each rule of a set, for a simulation to explain. */
export interface RuleReport {
  rule: string;
  version: number;
  kind: RuleKind;
  status: "awarded" | "not_applied" | "superseded" | "failed";
  /** not_applied: why. */
  reason?: NotApplied;
  /** superseded: the exclusive or better `best` rule that took its place. */
  by?: string;
  /** failed: the evaluation error. */
  error?: { code: string; path: string; message: string };
}

export interface Evaluation {
  /** The awards, by kind (earn, burn, tier, expiry), then in evaluation order. */
  awards: Award[];
  /** Every rule, in evaluation order. */
  report: RuleReport[];
}

const compiledRules = new WeakMap<Rule, CheckedRule>();

/**
 * A rule version from its document: validated (RuleValidationError lists every fault) and
 * hashed. With `expectedHash` (a published entry's), a document that does not hash to it is
 * refused.
 */
export function ruleVersion(
  id: string,
  version: number,
  document: unknown,
  expectedHash?: string,
): RuleVersion {
  const problems: Problem[] = [];
  if (!RULE_ID.test(id)) {
    problems.push({
      path: "id",
      code: "invalid",
      message: `a rule id must match ${RULE_ID.source}`,
    });
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    problems.push({ path: "version", code: "invalid", message: "a version is a positive integer" });
  }
  const checked = checkRule(document);
  if (!checked.ok) problems.push(...checked.errors);
  if (problems.length > 0 || !checked.ok) throw new RuleValidationError(problems);
  const hash = ruleHash(document);
  if (expectedHash !== undefined && expectedHash !== hash) {
    throw new RuleValidationError([
      {
        path: "",
        code: "invalid",
        message: `the document hashes to ${hash}, not ${expectedHash}`,
      },
    ]);
  }
  compiledRules.set(checked.value.rule, checked.value);
  return { id, version, hash, document: document as JsonValue, rule: checked.value.rule };
}

function compiled(rv: RuleVersion): CheckedRule {
  const cached = compiledRules.get(rv.rule);
  if (cached !== undefined) return cached;
  // A RuleVersion rebuilt by hand (copied, deserialised): check its document again.
  const checked = checkRule(rv.document);
  if (!checked.ok) throw new RuleValidationError(checked.errors);
  compiledRules.set(rv.rule, checked.value);
  return checked.value;
}

function contextError(path: string, message: string): EvaluationError {
  return new EvaluationError("invalid_context", path, message);
}

/** Checks a context: its parts, objects of integer-only JSON. Throws EvaluationError. */
export function checkContext(context: unknown): asserts context is RuleContext {
  checkParts(context, null);
}

/** checkContext, leaving out one part (`skip`: one that is replaced before evaluation). */
function checkParts(context: unknown, skip: string | null): asserts context is RuleContext {
  if (!isPlainObject(context)) throw contextError("", "a context is an object");
  const keys = Object.keys(context);
  for (const key of keys) {
    if (key === skip) continue;
    if (!(CONTEXT_PARTS as readonly string[]).includes(key)) {
      throw contextError(key, `unknown context part (expected ${CONTEXT_PARTS.join(", ")})`);
    }
    if (!isPlainObject(context[key])) throw contextError(key, "must be an object");
  }
  const problems: Problem[] = [];
  if (skip === null) checkJson(context, "", problems);
  else for (const key of keys) if (key !== skip) checkJson(context[key], key, problems);
  const first = problems[0];
  if (first !== undefined) throw contextError(first.path, first.message);
}

/**
 * Evaluates one rule over a context, without stacking: whether it applies, its points after
 * caps, and the inputs it read. Throws EvaluationError when the context is not valid or the
 * evaluation fails (step budget, depth, a value of the wrong kind).
 */
export function evaluateRule(
  rv: RuleVersion,
  context: RuleContext,
  options: EvaluateOptions = {},
): RuleOutcome {
  checkContext(context);
  return run(rv, context, options);
}

function run(rv: RuleVersion, context: RuleContext, options: EvaluateOptions): RuleOutcome {
  const c = compiled(rv);
  const m = new Machine(options, CONTEXT_ROOTS);
  const data = context as JsonValue;
  const read = (key: string): Lookup => {
    const found = lookup(data, key.split("."));
    m.record(key, found);
    return found;
  };
  const first = prepare(c, data, m, read);
  if (typeof first === "string") {
    return { applies: false, reason: first, points: 0, inputs: copy(m.inputs), steps: m.steps };
  }
  const outcome: RuleOutcome = { applies: true, points: 0, inputs: m.inputs, steps: 0 };
  if (first.tier !== undefined) outcome.tier = first.tier;
  if (first.days !== undefined) outcome.days = first.days;
  const action = rv.rule.action;
  const before =
    action.type === "multiplier" ? multiplierPoints(action, read("awards")) : first.points;
  const usage = (name: "day" | "period" | "customer"): number => {
    const key = `usage.${rv.id}.${name}`;
    const u = read(key);
    if (!u.found || u.value === null) return 0;
    if (typeof u.value !== "number" || u.value < 0)
      throw contextError(key, "a usage count is a non-negative integer");
    return u.value;
  };
  const { points, cappedBy } = applyCaps(rv.rule.caps, before, usage);
  outcome.points = points;
  if (cappedBy !== undefined) {
    outcome.uncapped = before;
    outcome.cappedBy = cappedBy;
  }
  outcome.steps = m.steps;
  outcome.inputs = copy(m.inputs);
  return outcome;
}

/**
 * What a rule gives before its caps, from the validity window, the scope, the condition and the
 * action (steps 1 to 4), or why it does not apply. A multiplier's points (it reads the awards it
 * multiplies) are left to the caller: `points` is 0 for one. None of this reads `usage` or
 * `awards`, so two rule sets that share a rule version share this part over one context.
 */
function prepare(
  c: CheckedRule,
  data: JsonValue,
  m: Machine,
  read: (key: string) => Lookup,
): NotApplied | { points: number; tier?: string; days?: number } {
  const { rule } = c;
  // 1. The validity window, on the time given.
  if (c.validFrom !== null || c.validUntil !== null) {
    const t = read("time.ms");
    if (!t.found || typeof t.value !== "number") {
      throw contextError("time.ms", "the rule has a validity window: time.ms is required");
    }
    if (
      (c.validFrom !== null && t.value < c.validFrom) ||
      (c.validUntil !== null && t.value >= c.validUntil)
    ) {
      return "window";
    }
  }

  // 2. The scope.
  const s = rule.scope;
  if (
    !oneOf(read, "order.channel", s.channels) ||
    !oneOf(read, "order.store", s.stores) ||
    !oneOf(read, "customer.tier", s.tiers)
  ) {
    return "scope";
  }
  if (s.segments !== undefined) {
    const v = read("customer.segments");
    if (!v.found || v.value === null) return "scope";
    if (!Array.isArray(v.value)) throw contextError("customer.segments", "must be a list");
    const segments = v.value;
    if (!s.segments.some((x) => segments.includes(x))) return "scope";
  }
  const itemScoped = s.categories !== undefined || s.products !== undefined;
  let items: JsonObject[] | null = null;
  const orderItems = (): JsonObject[] => {
    if (items === null) items = readItems(read);
    return items;
  };
  if (itemScoped && !orderItems().some((item) => matches(item, s))) return "scope";

  // 3. The condition.
  if (!truthy(m.run(c.condition.node, data))) return "condition";

  // 4. The action (a multiplier's in multiplierPoints).
  const action = rule.action;
  switch (action.type) {
    case "fixed":
      return { points: action.points };
    case "per_amount": {
      let amount: number;
      if (itemScoped || action.items !== undefined) {
        amount = 0;
        orderItems().forEach((item, i) => {
          if (!matches(item, s) || !itemSelected(item, action.items, c, m)) return;
          const a = item.amount;
          if (typeof a !== "number" || a < 0) {
            throw contextError(
              `order.items.${i}.amount`,
              "an item's amount is a non-negative integer",
            );
          }
          amount += a;
          if (!Number.isSafeInteger(amount))
            throw new EvaluationError(
              "overflow",
              "order.items",
              "the items' amounts add up beyond 2^53 − 1",
            );
        });
      } else {
        const a = read("order.amount");
        if (!a.found || typeof a.value !== "number" || a.value < 0) {
          throw contextError(
            "order.amount",
            "a per_amount action needs order.amount, a non-negative integer",
          );
        }
        amount = a.value;
      }
      return { points: ratio(amount, action.points, action.per, action.rounding, "action") };
    }
    case "multiplier":
      return { points: 0 };
    case "tier":
      return { points: 0, tier: action.tier };
    case "expire":
      return { points: 0, days: action.days };
  }
}

/** A multiplier's points over the awards it multiplies (the context's `awards`). */
function multiplierPoints(action: MultiplierAction, a: Lookup): number {
  let base = 0;
  if (a.found && a.value !== null) {
    if (!isPlainObject(a.value))
      throw contextError("awards", "must be an object of points by rule id");
    for (const [id, p] of Object.entries(a.value)) {
      if (typeof p !== "number" || p < 0)
        throw contextError(`awards.${id}`, "points are a non-negative integer");
      if (action.rules === undefined || action.rules.includes(id)) base += p;
    }
    if (!Number.isSafeInteger(base))
      throw new EvaluationError("overflow", "awards", "the awards add up beyond 2^53 − 1");
  }
  return multiply(action, base);
}

/** The extra points of a multiplier over the points it multiplies. */
function multiply(action: MultiplierAction, base: number): number {
  const divisor = action.divisor ?? 1;
  return ratio(base, action.factor - divisor, divisor, action.rounding, "action");
}

/** 5. The caps: the points they leave, with the cap that lowered them (the last one to). */
function applyCaps(
  caps: Caps,
  before: number,
  usage: (name: "day" | "period" | "customer") => number,
): { points: number; cappedBy?: CapName } {
  let points = before;
  let cappedBy: CapName | undefined;
  const limit = (name: CapName, max: number, used: number) => {
    const room = Math.max(0, max - used);
    if (points > room) {
      points = room;
      cappedBy = name;
    }
  };
  if (caps.order !== undefined) limit("order", caps.order, 0);
  if (caps.day !== undefined) limit("day", caps.day, usage("day"));
  if (caps.period !== undefined) limit("period", caps.period.points, usage("period"));
  if (caps.customer !== undefined) limit("customer", caps.customer, usage("customer"));
  return cappedBy === undefined ? { points } : { points, cappedBy };
}

function readItems(read: (key: string) => Lookup): JsonObject[] {
  const v = read("order.items");
  if (!v.found || v.value === null) return [];
  if (!Array.isArray(v.value)) throw contextError("order.items", "must be a list of items");
  return v.value.map((item, i) => {
    if (!isPlainObject(item)) throw contextError(`order.items.${i}`, "an item is an object");
    return item;
  });
}

/** Whether a scope's list (absent: any) holds the string at `key`. */
function oneOf(
  read: (key: string) => Lookup,
  key: string,
  list: readonly string[] | undefined,
): boolean {
  if (list === undefined) return true;
  const v = read(key);
  return v.found && typeof v.value === "string" && list.includes(v.value);
}

function matches(item: JsonObject, filter: Pick<Scope, "categories" | "products">): boolean {
  return inList(item.category, filter.categories) && inList(item.product, filter.products);
}

function inList(v: JsonValue | undefined, list: readonly string[] | undefined): boolean {
  return list === undefined || (typeof v === "string" && list.includes(v));
}

function itemSelected(
  item: JsonObject,
  filter: ItemFilter | undefined,
  c: CheckedRule,
  m: Machine,
): boolean {
  if (filter === undefined) return true;
  if (!matches(item, filter)) return false;
  // The item was recorded with order.items: what the filter reads of it is not recorded again.
  return c.where === null || truthy(m.run(c.where.node, item, { record: false, roots: null }));
}

/**
 * round(amount × numerator / denominator), exactly, for non-negative integers. floor rounds
 * down, ceil up, half_up to the nearest with halves up.
 */
export function ratio(
  amount: number,
  numerator: number,
  denominator: number,
  rounding: Rounding = "floor",
  path = "",
): number {
  // With the product and the divisor below 2^52, doubles are exact: the product, the quotient
  // floored (corrected by its remainder, itself exact), and so every rounding. BigInt, for
  // larger values, cost a simulation a quarter of a µs per award.
  const product = amount * numerator;
  if (
    Number.isSafeInteger(amount) &&
    Number.isSafeInteger(numerator) &&
    Number.isSafeInteger(denominator) &&
    product >= 0 &&
    product <= TWO_52 &&
    denominator >= 1 &&
    denominator <= TWO_52
  ) {
    let q = Math.floor(product / denominator);
    let r = product - q * denominator;
    if (r < 0) {
      q--;
      r += denominator;
    } else if (r >= denominator) {
      q++;
      r -= denominator;
    }
    if (rounding === "ceil") return r > 0 ? q + 1 : q;
    if (rounding === "half_up") return 2 * r >= denominator ? q + 1 : q;
    return q;
  }
  return bigRatio(amount, numerator, denominator, rounding, path);
}

const TWO_52 = 2 ** 52;

/** ratio() with BigInt: for any non-negative integers. */
export function bigRatio(
  amount: number,
  numerator: number,
  denominator: number,
  rounding: Rounding = "floor",
  path = "",
): number {
  const n = BigInt(amount) * BigInt(numerator);
  const d = BigInt(denominator);
  let q: bigint;
  if (rounding === "floor") q = n / d;
  else if (rounding === "ceil") q = (n + d - 1n) / d;
  else q = (2n * n + d) / (2n * d);
  const points = Number(q);
  if (!Number.isSafeInteger(points)) {
    throw new EvaluationError("overflow", path, "the points are beyond 2^53 − 1");
  }
  return points;
}

function order(a: RuleVersion, b: RuleVersion): number {
  if (a.rule.priority !== b.rule.priority) return b.rule.priority - a.rule.priority;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Evaluates a rule set over one context: which rules apply (validity window on `time.ms`,
 * scope, condition), each one's award with explicit rounding and its caps, in priority order
 * (higher first, then by id), honouring stacking. Kinds are independent. Within a kind, point
 * rules go first; multipliers then multiply the awards kept. A rule whose evaluation fails is
 * reported as failed and awards nothing. Pure: the same rules and context give the same result.
 */
export function evaluateRules(
  rules: readonly RuleVersion[],
  context: RuleContext,
  options: EvaluateOptions = {},
): Evaluation {
  checkContext(context);
  const ids = new Set<string>();
  for (const rv of rules) {
    if (ids.has(rv.id)) throw new TypeError(`rule ${rv.id} is in the set twice`);
    ids.add(rv.id);
  }
  // Multipliers see the awards this evaluation keeps, never ones the caller passed.
  const base: RuleContext = { ...context };
  delete base.awards;
  const awards: Award[] = [];
  const report: RuleReport[] = [];
  for (const kind of RULE_KINDS) {
    const ofKind = rules.filter((rv) => rv.rule.kind === kind).sort(order);
    const points = ofKind.filter((rv) => rv.rule.action.type !== "multiplier");
    const multipliers = ofKind.filter((rv) => rv.rule.action.type === "multiplier");
    const first = stage(points, base, options, report, null);
    awards.push(...first.kept);
    if (multipliers.length === 0) continue;
    const multiplied: JsonObject = {};
    for (const a of first.kept) multiplied[a.rule] = a.points;
    const second = stage(multipliers, { ...base, awards: multiplied }, options, report, first.stop);
    awards.push(...second.kept);
  }
  return { awards, report };
}

/** The rules of one kind and stage, in order. `stop`: an earlier exclusive rule that applied. */
function stage(
  rules: readonly RuleVersion[],
  context: RuleContext,
  options: EvaluateOptions,
  report: RuleReport[],
  stop: RuleVersion | null,
): { kept: Award[]; stop: RuleVersion | null } {
  const kept: { award: Award; at: number }[] = [];
  let best: { award: Award; at: number; value: number; report: RuleReport } | null = null;
  let stopped = stop;
  for (const [at, rv] of rules.entries()) {
    const entry: RuleReport = {
      rule: rv.id,
      version: rv.version,
      kind: rv.rule.kind,
      status: "awarded",
    };
    report.push(entry);
    if (stopped !== null && order(stopped, rv) < 0) {
      entry.status = "superseded";
      entry.by = stopped.id;
      continue;
    }
    let outcome: RuleOutcome;
    try {
      outcome = run(rv, context, options);
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      entry.status = "failed";
      entry.error = { code: e.code, path: e.path, message: e.message };
      continue;
    }
    if (!outcome.applies) {
      entry.status = "not_applied";
      entry.reason = outcome.reason as NotApplied;
      continue;
    }
    const award = toAward(rv, outcome);
    switch (rv.rule.stacking) {
      case "stack":
        kept.push({ award, at });
        break;
      case "exclusive":
        kept.push({ award, at });
        stopped = rv;
        break;
      case "best": {
        const value = award.days ?? award.points;
        if (best === null || value > best.value) {
          if (best !== null) {
            best.report.status = "superseded";
            best.report.by = rv.id;
          }
          best = { award, at, value, report: entry };
        } else {
          entry.status = "superseded";
          entry.by = best.award.rule;
        }
        break;
      }
    }
  }
  if (best !== null) kept.push(best);
  kept.sort((a, b) => a.at - b.at);
  return { kept: kept.map((k) => k.award), stop: stopped };
}

function toAward(rv: RuleVersion, o: RuleOutcome): Award {
  return {
    rule: rv.id,
    version: rv.version,
    hash: rv.hash,
    kind: rv.rule.kind,
    points: o.points,
    ...(o.uncapped === undefined ? {} : { uncapped: o.uncapped, cappedBy: o.cappedBy }),
    ...(o.tier === undefined ? {} : { tier: o.tier }),
    ...(o.days === undefined ? {} : { days: o.days }),
    inputs: o.inputs,
  };
}

/** A copy of recorded inputs, so that changing the context afterwards cannot change an award. */
function copy(inputs: Inputs): Inputs {
  // Most inputs are strings and numbers: only objects and arrays (order.items) need a deep copy.
  const out: Inputs = {};
  for (const k of Object.keys(inputs)) {
    // Rule paths never hold it; were one to, assignment would set the copy's prototype.
    if (k === "__proto__") return JSON.parse(JSON.stringify(inputs)) as Inputs;
    const v = inputs[k] as JsonValue;
    out[k] = typeof v === "object" && v !== null ? (JSON.parse(JSON.stringify(v)) as JsonValue) : v;
  }
  return out;
}

/**
 * The context an award's recorded inputs describe: each path set to its value, nothing else.
 * Throws EvaluationError (`invalid_context`) for inputs that cannot have come from one context:
 * a path outside the context's parts or through a prototype, or two that disagree.
 */
export function contextFromInputs(inputs: Inputs): RuleContext {
  if (!isPlainObject(inputs)) throw contextError("", "inputs are an object of values by path");
  const problems: Problem[] = [];
  checkJson(inputs, "", problems);
  const bad = problems[0];
  if (bad !== undefined) throw contextError(bad.path, bad.message);
  const entries = Object.entries(inputs)
    .map(([key, value]) => ({ key, value, segments: key.split(".") }))
    .sort(
      (a, b) =>
        a.segments.length - b.segments.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    );
  const context: JsonObject = {};
  for (const { key, value, segments } of entries) {
    if (!(CONTEXT_PARTS as readonly string[]).includes(segments[0] as string)) {
      throw contextError(key, "not a path in a rule's context");
    }
    const forbidden = forbiddenSegment(segments);
    if (forbidden !== undefined) throw contextError(key, `the path names ${forbidden}`);
    const found = lookup(context, segments);
    if (found.found) {
      if (!jsonEqual(found.value, value)) throw contextError(key, "disagrees with another input");
      continue;
    }
    let current: JsonObject = context;
    for (const segment of segments.slice(0, -1)) {
      if (!Object.hasOwn(current, segment)) current[segment] = {};
      const next = current[segment];
      if (!isPlainObject(next)) throw contextError(key, "disagrees with another input");
      current = next;
    }
    current[segments[segments.length - 1] as string] = value;
  }
  return context as RuleContext;
}

/**
 * Re-runs one award from its recorded inputs alone and returns its points: what audit and the
 * browser compare with the points the award recorded.
 */
export function recompute(rv: RuleVersion, inputs: Inputs, options: EvaluateOptions = {}): number {
  return evaluateRule(rv, contextFromInputs(inputs), options).points;
}

/**
 * Checks an award against its rule version: the same rule, version and hash; and re-run from
 * its recorded inputs, the rule applies, gives the same points (tier, days, cap), and reads
 * exactly the inputs recorded.
 */
export function checkAward(
  rv: RuleVersion,
  award: Award,
  options: EvaluateOptions = {},
): { ok: boolean; problems: string[]; outcome?: RuleOutcome } {
  const problems: string[] = [];
  if (award.rule !== rv.id) problems.push(`the award names rule ${award.rule}, not ${rv.id}`);
  if (award.version !== rv.version)
    problems.push(`the award names version ${award.version}, not ${rv.version}`);
  if (award.hash !== rv.hash) problems.push("the award names another hash than the rule version's");
  if (award.kind !== rv.rule.kind)
    problems.push(`the award is of kind ${award.kind}, the rule ${rv.rule.kind}`);
  let outcome: RuleOutcome;
  try {
    outcome = recomputeOutcome(rv, award.inputs, options);
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    problems.push(`recomputing fails: ${e.message}`);
    return { ok: false, problems };
  }
  if (!outcome.applies)
    problems.push(`the rule does not apply to the recorded inputs (${outcome.reason})`);
  if (outcome.points !== award.points) {
    problems.push(`the award has ${award.points} points, the inputs give ${outcome.points}`);
  }
  if (outcome.tier !== award.tier)
    problems.push(`the award's tier is ${award.tier}, the inputs give ${outcome.tier}`);
  if (outcome.days !== award.days)
    problems.push(`the award's days are ${award.days}, the inputs give ${outcome.days}`);
  if (outcome.cappedBy !== award.cappedBy || outcome.uncapped !== award.uncapped) {
    problems.push("the award's cap differs from the recomputed one");
  }
  if (!jsonEqual(outcome.inputs, award.inputs)) {
    problems.push("the inputs recorded are not the inputs the rule reads");
  }
  return { ok: problems.length === 0, problems, outcome };
}

/** recompute, returning the whole outcome. */
export function recomputeOutcome(
  rv: RuleVersion,
  inputs: Inputs,
  options: EvaluateOptions = {},
): RuleOutcome {
  return evaluateRule(rv, contextFromInputs(inputs), options);
}

/** One rule set's points over one context (PointsEvaluator). */
export interface SetPoints {
  /** The awards' points in all. */
  points: number;
  /** Each award kept (0 points included), in the order evaluateRules gives them. */
  awards: { rule: string; points: number }[];
  /** The rules whose evaluation failed (evaluateRules reports them as failed). */
  failed: string[];
}

/** How much a rule already gave the customer (the `usage` of a context). */
export type UsageOf = (set: number, rule: string, cap: "day" | "period" | "customer") => number;

const SEGMENTS = new Map<string, readonly string[]>();

/** A dotted path's segments (the fixed paths the engine reads, split once). */
function segmentsOf(key: string): readonly string[] {
  let segments = SEGMENTS.get(key);
  if (segments === undefined) {
    segments = key.split(".");
    if (SEGMENTS.size < 1000) SEGMENTS.set(key, segments);
  }
  return segments;
}

interface Slot {
  rv: RuleVersion;
  /** Its index among the distinct rule versions of all the sets. */
  at: number;
  checked: CheckedRule;
  /** Whether it has a cap (of any kind). */
  capped: boolean;
}

/** Why a rule does not apply, that it applies, or that its evaluation failed. */
type PreparedState = NotApplied | "applies" | "error";

/**
 * Evaluates several rule sets over many contexts for their points only, as a simulation needs:
 * for each set, the awards and points `evaluateRules(set, { ...context, usage })` gives, where
 * `usage` holds the counts `usageOf` returns (absent when 0), and the rules that failed, without
 * recording inputs or building reports. A rule version in several sets (the same id and hash) is
 * evaluated once per context up to its caps (the window, scope, condition and action never read
 * `usage` or `awards`); each set then applies the caps over its own usage and multiplies its own
 * awards. Each set is taken as evaluateRules takes it; only kinds other than earn are ignored.
 */
export class PointsEvaluator {
  private readonly sets: { points: Slot[]; multipliers: Slot[] }[];
  /** Each distinct rule version's window, scope, condition and action over this context. */
  private readonly prepared: PreparedState[];
  /** ... and its points before caps, when it applies. */
  private readonly before: number[];
  private readonly done: boolean[];
  /** Each set's result, and the array of them, reused from one context to the next. */
  private readonly out: SetPoints[];
  private readonly results: SetPoints[];
  /** One machine (it records nothing), restarted for each rule. */
  private readonly machine: Machine;
  private readonly read: (key: string) => Lookup;
  private data: JsonValue = null;

  constructor(sets: readonly (readonly RuleVersion[])[], options: EvaluateOptions = {}) {
    const slots = new Map<string, number>();
    const distinct: RuleVersion[] = [];
    this.sets = sets.map((rules) => {
      const ids = new Set<string>();
      for (const rv of rules) {
        if (ids.has(rv.id)) throw new TypeError(`rule ${rv.id} is in the set twice`);
        ids.add(rv.id);
      }
      const slot = (rv: RuleVersion): Slot => {
        const key = `${rv.id}\u0000${rv.hash}`;
        let at = slots.get(key);
        if (at === undefined) {
          at = distinct.length;
          distinct.push(rv);
          slots.set(key, at);
        }
        const { caps } = rv.rule;
        const capped =
          caps.order !== undefined ||
          caps.day !== undefined ||
          caps.period !== undefined ||
          caps.customer !== undefined;
        return { rv, at, checked: compiled(rv), capped };
      };
      const ofKind = rules.filter((rv) => rv.rule.kind === "earn").sort(order);
      return {
        points: ofKind.filter((rv) => rv.rule.action.type !== "multiplier").map(slot),
        multipliers: ofKind.filter((rv) => rv.rule.action.type === "multiplier").map(slot),
      };
    });
    this.prepared = distinct.map(() => "condition");
    this.before = distinct.map(() => 0);
    this.done = distinct.map(() => false);
    this.out = sets.map(() => ({ points: 0, awards: [], failed: [] }));
    this.results = [...this.out];
    this.machine = new Machine(options, CONTEXT_ROOTS, false);
    this.read = (key: string): Lookup => lookup(this.data, segmentsOf(key));
  }

  /**
   * Each set's points over one context (the results are reused by the next call: read them
   * before). The context is checked as evaluateRules checks it (its
   * own `usage`, replaced by the counts of `usageOf`, is not read); an invalid one throws.
   */
  evaluate(context: RuleContext, usageOf: UsageOf): SetPoints[] {
    checkParts(context, "usage");
    this.done.fill(false);
    const data = context as JsonValue;
    this.data = data;
    for (let n = 0; n < this.sets.length; n++) {
      const set = this.sets[n] as { points: Slot[]; multipliers: Slot[] };
      const out = this.out[n] as SetPoints;
      out.points = 0;
      // Setting an array's length is a call into the runtime: only when there is something.
      if (out.awards.length > 0) out.awards.length = 0;
      if (out.failed.length > 0) out.failed.length = 0;
      const stop = this.stage(set.points, data, n, usageOf, null, out);
      // The multipliers multiply the awards of the rules before them, not each other's.
      if (set.multipliers.length > 0) this.stage(set.multipliers, data, n, usageOf, stop, out);
      for (const a of out.awards) out.points += a.points;
    }
    return this.results;
  }

  /** The window, scope, condition and action of a rule over the context, once per context. */
  private prepare(slot: Slot, data: JsonValue): PreparedState {
    const at = slot.at;
    if (this.done[at]) return this.prepared[at] as PreparedState;
    const m = this.machine;
    m.restart();
    let p: PreparedState;
    try {
      const first = prepare(slot.checked, data, m, this.read);
      if (typeof first === "string") p = first;
      else {
        p = "applies";
        this.before[at] = first.points;
      }
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      p = "error";
    }
    this.prepared[at] = p;
    this.done[at] = true;
    return p;
  }

  /**
   * stage() for points: the same order, stacking and supersession, without reports. The awards
   * kept go to `out.awards` in the rules' order (a "best" rule's in its place among them).
   */
  private stage(
    slots: readonly Slot[],
    data: JsonValue,
    set: number,
    usageOf: UsageOf,
    stop: RuleVersion | null,
    out: SetPoints,
  ): RuleVersion | null {
    const awards = out.awards;
    // The awards a multiplier multiplies: those of the stage before.
    const base = awards.length;
    let best: { rule: string; points: number } | null = null;
    let bestAt = 0;
    let stopped = stop;
    for (let at = 0; at < slots.length; at++) {
      const slot = slots[at] as Slot;
      const { rv } = slot;
      if (stopped !== null && order(stopped, rv) < 0) continue;
      const p = this.prepare(slot, data);
      if (p === "error") {
        out.failed.push(rv.id);
        continue;
      }
      if (p !== "applies") continue;
      let points: number;
      try {
        const action = rv.rule.action;
        let before: number;
        if (action.type === "multiplier") {
          let sum = 0;
          for (let i = 0; i < base; i++) {
            const a = awards[i] as { rule: string; points: number };
            if (action.rules === undefined || action.rules.includes(a.rule)) sum += a.points;
          }
          if (!Number.isSafeInteger(sum))
            throw new EvaluationError("overflow", "awards", "the awards add up beyond 2^53 − 1");
          before = multiply(action, sum);
        } else before = this.before[slot.at] as number;
        points = slot.capped
          ? applyCaps(rv.rule.caps, before, (cap) => usageOf(set, rv.id, cap)).points
          : before;
      } catch (e) {
        if (!(e instanceof EvaluationError)) throw e;
        out.failed.push(rv.id);
        continue;
      }
      switch (rv.rule.stacking) {
        case "stack":
          awards.push({ rule: rv.id, points });
          break;
        case "exclusive":
          awards.push({ rule: rv.id, points });
          stopped = rv;
          break;
        case "best":
          if (best === null || points > best.points) {
            best = { rule: rv.id, points };
            bestAt = awards.length;
          }
          break;
      }
    }
    if (best !== null) awards.splice(bestAt, 0, best);
    return stopped;
  }
}

/**
 * The fields of a context that evaluating these rules (evaluateRules, PointsEvaluator) can
 * read, each a part (`"order"`, read whole) or a part's field (`"order.items"`, read whole):
 * what the engine reads for the windows, scopes and actions, and every path the conditions
 * read at the top scope. A context with only these fields (each as it is, or absent when it is
 * absent) gives the same points, failures and steps as the whole context. Null when a condition
 * computes the keys it asks `missing` about, which only its evaluation knows.
 */
export function contextFields(rules: readonly RuleVersion[]): string[] | null {
  const fields = new Set<string>();
  const add = (segments: readonly string[]) => {
    fields.add(segments.slice(0, 2).join("."));
  };
  for (const rv of rules) {
    const c = compiled(rv);
    const { rule } = c;
    if (c.validFrom !== null || c.validUntil !== null) add(["time", "ms"]);
    const s = rule.scope;
    if (s.channels !== undefined) add(["order", "channel"]);
    if (s.stores !== undefined) add(["order", "store"]);
    if (s.tiers !== undefined) add(["customer", "tier"]);
    if (s.segments !== undefined) add(["customer", "segments"]);
    if (s.categories !== undefined || s.products !== undefined) add(["order", "items"]);
    if (rule.action.type === "per_amount") {
      add(["order", "amount"]);
      if (rule.action.items !== undefined) add(["order", "items"]);
    }
    if (!topReads(c.condition.node, add)) return null;
  }
  // A part read whole holds its fields.
  return [...fields]
    .filter((f) => !f.includes(".") || !fields.has(f.split(".")[0] as string))
    .sort();
}

/** Adds the paths an expression reads at the top scope; false when one is computed. */
function topReads(node: LogicNode, add: (segments: readonly string[]) => void): boolean {
  switch (node.t) {
    case "value":
      return true;
    case "list":
      return node.items.every((item) => topReads(item, add));
    case "var":
      if (node.top) {
        if (node.computed !== null || node.segments === null) return false;
        add(node.segments);
      }
      return (
        (node.computed === null || topReads(node.computed, add)) &&
        (node.fallback === null || topReads(node.fallback, add))
      );
    case "op": {
      if (node.top && (node.op === "missing" || node.op === "missing_some")) {
        const keys = node.op === "missing" ? node.args : node.args.slice(1);
        for (const k of keys) {
          if (k.t !== "value") return false;
          const written = Array.isArray(k.value) && keys.length === 1 ? k.value : [k.value];
          for (const key of written) {
            if (typeof key !== "string" && typeof key !== "number") return false;
            if (String(key) === "") return false;
            add(String(key).split("."));
          }
        }
      }
      return node.args.every((a) => topReads(a, add));
    }
  }
}
