import { checkJson, isPlainObject, type JsonValue, joinPath } from "../json.js";
import { type CompiledLogic, compileLogic } from "../logic/compile.js";
import { type Problem, problem } from "../problems.js";
import { parseInstant } from "../time.js";

/** What a rule decides: points earned, points a redemption costs, a tier, or when points expire. */
export const RULE_KINDS = ["earn", "burn", "tier", "expiry"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/**
 * How a rule's award combines with the others of its kind (see docs/rules.md):
 * - `stack`: it adds up with every other applying rule (the default);
 * - `exclusive`: when it applies, no rule of its kind after it (lower priority) applies;
 * - `best`: of the applying `best` rules of its kind, only the one worth most is kept.
 */
export const STACKING = ["stack", "exclusive", "best"] as const;
export type Stacking = (typeof STACKING)[number];

/** How a division rounds: down (the default), up, or to the nearest with halves up. */
export const ROUNDING = ["floor", "ceil", "half_up"] as const;
export type Rounding = (typeof ROUNDING)[number];

/** Calendar periods a cap can count over (in the merchant's time zone, counted by the caller). */
export const PERIOD_UNITS = ["week", "month", "year"] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/** The parts of the context a condition reads: every `var` path starts with one of them. */
export const CONTEXT_ROOTS = ["order", "customer", "event", "time"] as const;

/** A rule's id: letters, digits, `_` and `-` (no dot: ids name paths in recorded inputs). */
export const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const RULE_LIMITS = {
  /** Characters of a name, a tier, a scope value. */
  name: 200,
  /** Characters of a description. */
  description: 2000,
  /** Values in one list (a scope's channels, a multiplier's rules). */
  list: 1000,
} as const;

/** Which of the order's items count: all the listed fields must match. */
export interface ItemFilter {
  /** The item's `category` is one of these. */
  categories?: string[];
  /** The item's `product` is one of these. */
  products?: string[];
  /** JsonLogic over the item (`{"var": "quantity"}`): the item counts when it is truthy. */
  where?: JsonValue;
}

/** `points` for the order. */
export interface FixedAction {
  type: "fixed";
  points: number;
}

/**
 * round(amount × points / per), amount in minor units: the order's `amount`, or the sum of the
 * `amount` of the items the scope's categories and products and this filter select.
 */
export interface PerAmountAction {
  type: "per_amount";
  points: number;
  per: number;
  /** Default `floor`. */
  rounding?: Rounding;
  items?: ItemFilter;
}

/**
 * Multiplies the points of the other awards of its kind by factor / divisor: the award is the
 * extra, round(base × (factor − divisor) / divisor). Double points: factor 2; 1.5×: factor 3,
 * divisor 2.
 */
export interface MultiplierAction {
  type: "multiplier";
  factor: number;
  /** Default 1. */
  divisor?: number;
  /** Default `floor`. */
  rounding?: Rounding;
  /** Only these rules' awards are multiplied (default: every non-multiplier award of the kind). */
  rules?: string[];
}

/** The customer qualifies for `tier` (kind `tier`). */
export interface TierAction {
  type: "tier";
  tier: string;
}

/** Points earned under this rule's conditions expire after `days` (kind `expiry`). */
export interface ExpireAction {
  type: "expire";
  days: number;
}

export type Action = FixedAction | PerAmountAction | MultiplierAction | TierAction | ExpireAction;
export type ActionType = Action["type"];

const ACTIONS_BY_KIND: Record<RuleKind, readonly ActionType[]> = {
  earn: ["fixed", "per_amount", "multiplier"],
  burn: ["fixed", "per_amount", "multiplier"],
  tier: ["tier"],
  expiry: ["expire"],
};

/** Where a rule applies. An absent list does not restrict. */
export interface Scope {
  /** The order's `channel` is one of these. */
  channels?: string[];
  /** The order's `store` is one of these. */
  stores?: string[];
  /** At least one item's `category` is one of these (and only those items count toward per_amount). */
  categories?: string[];
  /** At least one item's `product` is one of these (and only those items count toward per_amount). */
  products?: string[];
  /** The customer's `segments` include one of these. */
  segments?: string[];
  /** The customer's `tier` is one of these. */
  tiers?: string[];
}

/** Upper limits of the points a rule awards. */
export interface Caps {
  /** Points per order (per evaluation). */
  order?: number;
  /** Points per customer per day, counting what `usage` says was awarded earlier that day. */
  day?: number;
  /** Points per customer per calendar week, month or year. */
  period?: { points: number; unit: PeriodUnit };
  /** Points per customer, ever. */
  customer?: number;
}

export type CapName = "order" | "day" | "period" | "customer";

/** A rule document with its defaults filled in. */
export interface Rule {
  name: string;
  description?: string;
  kind: RuleKind;
  /** JsonLogic over `{ order, customer, event, time }`; `true` for always. */
  condition: JsonValue;
  action: Action;
  scope: Scope;
  caps: Caps;
  /** Higher first; default 0. */
  priority: number;
  stacking: Stacking;
  /** RFC 3339: the first instant the rule applies at (inclusive). */
  validFrom?: string;
  /** RFC 3339: the first instant it no longer applies at (exclusive). */
  validUntil?: string;
}

export type RuleValidation = { ok: true; rule: Rule } | { ok: false; errors: Problem[] };

/** A checked rule with its expressions compiled. @internal */
export interface CheckedRule {
  rule: Rule;
  condition: CompiledLogic;
  where: CompiledLogic | null;
  validFrom: number | null;
  validUntil: number | null;
}

const RULE_FIELDS = [
  "name",
  "description",
  "kind",
  "condition",
  "action",
  "scope",
  "caps",
  "priority",
  "stacking",
  "validFrom",
  "validUntil",
] as const;
const REQUIRED = ["name", "kind", "condition", "action"];
const SCOPE_FIELDS = ["channels", "stores", "categories", "products", "segments", "tiers"] as const;

/**
 * Checks a rule document: its schema (required fields, no unknown ones, kinds, actions, scope,
 * caps, priority, stacking, validity window), integers only in every number, and its JsonLogic
 * (supported operators, argument forms, depth, `var` paths under `order`, `customer`, `event`
 * or `time` and never through a prototype). Every fault is named by its path.
 */
export function validateRule(document: unknown): RuleValidation {
  const checked = checkRule(document);
  return checked.ok ? { ok: true, rule: checked.value.rule } : checked;
}

/** @internal validateRule, keeping the compiled expressions. */
export function checkRule(
  document: unknown,
): { ok: true; value: CheckedRule } | { ok: false; errors: Problem[] } {
  const errors: Problem[] = [];
  checkJson(document, "", errors);
  // A fraction is still a number: go on, to name the other faults too.
  if (errors.some((e) => e.code !== "not_an_integer")) return { ok: false, errors };
  const r = new Reader(errors);
  if (!r.object(document, "", REQUIRED, RULE_FIELDS)) return { ok: false, errors };
  const doc = document as Record<string, JsonValue>;

  // A missing required field was reported by object().
  const name = doc.name === undefined ? undefined : r.text(doc.name, "name", RULE_LIMITS.name);
  const description =
    doc.description === undefined
      ? undefined
      : r.text(doc.description, "description", RULE_LIMITS.description, 0);
  const kind = doc.kind === undefined ? undefined : r.oneOf(doc.kind, "kind", RULE_KINDS);
  const priority = doc.priority === undefined ? 0 : r.integer(doc.priority, "priority");
  const stacking =
    doc.stacking === undefined ? "stack" : r.oneOf(doc.stacking, "stacking", STACKING);
  const scope = doc.scope === undefined ? {} : r.scope(doc.scope, "scope");
  const action = r.action(doc.action, "action", kind);
  let caps: Caps = {};
  if (doc.caps !== undefined) {
    caps = r.caps(doc.caps, "caps");
    if (action !== undefined && (action.type === "tier" || action.type === "expire")) {
      errors.push(
        problem("caps", "invalid", `caps limit points, and a ${action.type} action awards none`),
      );
    }
  }
  const validFrom = r.instant(doc.validFrom, "validFrom");
  const validUntil = r.instant(doc.validUntil, "validUntil");
  if (validFrom !== null && validUntil !== null && validUntil <= validFrom) {
    errors.push(problem("validUntil", "invalid", "validUntil must be later than validFrom"));
  }

  let condition: CompiledLogic | undefined;
  if (doc.condition !== undefined) {
    const c = compileLogic(doc.condition, { roots: CONTEXT_ROOTS, path: "condition" });
    if (c.ok) condition = c.logic;
    else errors.push(...c.errors);
  }
  let where: CompiledLogic | null = null;
  if (action?.type === "per_amount" && action.items?.where !== undefined) {
    const w = compileLogic(action.items.where, {
      roots: null,
      computedPaths: false,
      path: "action.items.where",
    });
    if (w.ok) where = w.logic;
    else errors.push(...w.errors);
  }

  if (errors.length > 0 || condition === undefined || action === undefined) {
    return { ok: false, errors: unique(errors) };
  }
  const rule: Rule = {
    name: name as string,
    ...(description === undefined ? {} : { description }),
    kind: kind as RuleKind,
    condition: doc.condition as JsonValue,
    action,
    scope,
    caps,
    priority: priority as number,
    stacking: stacking as Stacking,
    ...(doc.validFrom === undefined ? {} : { validFrom: doc.validFrom as string }),
    ...(doc.validUntil === undefined ? {} : { validUntil: doc.validUntil as string }),
  };
  return { ok: true, value: { rule, condition, where, validFrom, validUntil } };
}

/** Each problem once (a fraction in an expression is found by the document's check and the expression's). */
function unique(errors: Problem[]): Problem[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.code}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reads typed fields, recording a problem at its path for each fault. */
class Reader {
  constructor(private readonly errors: Problem[]) {}

  private fail(path: string, code: Problem["code"], message: string): undefined {
    this.errors.push(problem(path, code, message));
    return undefined;
  }

  object(
    value: JsonValue | unknown,
    path: string,
    required: readonly string[],
    allowed: readonly string[],
  ): value is Record<string, JsonValue> {
    if (!isPlainObject(value)) {
      this.fail(path, "invalid", "must be an object");
      return false;
    }
    for (const key of required) {
      if (!Object.hasOwn(value, key))
        this.fail(joinPath(path, key), "missing_field", `${key} is required`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(
          joinPath(path, key),
          "unknown_field",
          `unknown field ${JSON.stringify(key)} (expected ${allowed.join(", ")})`,
        );
      }
    }
    return true;
  }

  text(value: JsonValue | undefined, path: string, max: number, min = 1): string | undefined {
    if (typeof value !== "string") return this.fail(path, "invalid", "must be a string");
    if (value.length < min) return this.fail(path, "invalid", "must not be empty");
    if (value.length > max) return this.fail(path, "invalid", `must be at most ${max} characters`);
    return value;
  }

  integer(value: JsonValue | undefined, path: string, min?: number): number | undefined {
    // A number that is not a safe integer was reported by checkJson already.
    if (typeof value === "number" && !Number.isSafeInteger(value)) return undefined;
    if (typeof value !== "number") return this.fail(path, "invalid", "must be an integer");
    if (min !== undefined && value < min)
      return this.fail(path, "invalid", `must be at least ${min}`);
    return value;
  }

  oneOf<T extends string>(
    value: JsonValue | undefined,
    path: string,
    options: readonly T[],
  ): T | undefined {
    if (typeof value !== "string" || !(options as readonly string[]).includes(value)) {
      return this.fail(path, "invalid", `must be one of ${options.join(", ")}`);
    }
    return value as T;
  }

  list(value: JsonValue | undefined, path: string, pattern?: RegExp): string[] | undefined {
    if (!Array.isArray(value)) return this.fail(path, "invalid", "must be a list of strings");
    if (value.length === 0)
      return this.fail(path, "invalid", "must not be empty (leave it out to allow all)");
    if (value.length > RULE_LIMITS.list) {
      return this.fail(path, "invalid", `must have at most ${RULE_LIMITS.list} values`);
    }
    const seen = new Set<string>();
    let ok = true;
    value.forEach((v, i) => {
      const at = joinPath(path, i);
      if (this.text(v, at, RULE_LIMITS.name) === undefined) ok = false;
      else if (pattern !== undefined && !pattern.test(v as string)) {
        ok = false;
        this.fail(at, "invalid", `must match ${pattern.source}`);
      } else if (seen.has(v as string)) {
        ok = false;
        this.fail(at, "invalid", `${JSON.stringify(v)} is listed twice`);
      } else seen.add(v as string);
    });
    return ok ? (value as string[]) : undefined;
  }

  instant(value: JsonValue | undefined, path: string): number | null {
    if (value === undefined) return null;
    if (typeof value !== "string") {
      this.fail(path, "invalid", "must be an RFC 3339 timestamp");
      return null;
    }
    const t = parseInstant(value);
    if (t === undefined) {
      this.fail(
        path,
        "invalid",
        "must be an RFC 3339 timestamp (2026-12-01T00:00:00Z, 2026-12-01T00:00:00+08:00)",
      );
      return null;
    }
    return t;
  }

  scope(value: JsonValue, path: string): Scope {
    if (!this.object(value, path, [], SCOPE_FIELDS)) return {};
    const out: Scope = {};
    for (const field of SCOPE_FIELDS) {
      if (value[field] === undefined) continue;
      const list = this.list(value[field], joinPath(path, field));
      if (list !== undefined) out[field] = list;
    }
    return out;
  }

  caps(value: JsonValue, path: string): Caps {
    if (!this.object(value, path, [], ["order", "day", "period", "customer"])) return {};
    const out: Caps = {};
    for (const field of ["order", "day", "customer"] as const) {
      if (value[field] === undefined) continue;
      const n = this.integer(value[field], joinPath(path, field), 0);
      if (n !== undefined) out[field] = n;
    }
    if (value.period !== undefined) {
      const at = joinPath(path, "period");
      if (this.object(value.period, at, ["points", "unit"], ["points", "unit"])) {
        const points = this.integer(value.period.points, joinPath(at, "points"), 0);
        const unit = this.oneOf(value.period.unit, joinPath(at, "unit"), PERIOD_UNITS);
        if (points !== undefined && unit !== undefined) out.period = { points, unit };
      }
    }
    return out;
  }

  action(
    value: JsonValue | undefined,
    path: string,
    kind: RuleKind | undefined,
  ): Action | undefined {
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) return this.fail(path, "invalid", "must be an object");
    const typePath = joinPath(path, "type");
    const type = this.oneOf(value.type, typePath, [
      "fixed",
      "per_amount",
      "multiplier",
      "tier",
      "expire",
    ] as const);
    if (type === undefined) return undefined;
    if (kind !== undefined && !ACTIONS_BY_KIND[kind].includes(type)) {
      return this.fail(
        typePath,
        "invalid",
        `a ${kind} rule's action is ${ACTIONS_BY_KIND[kind].join(" or ")}, not ${type}`,
      );
    }
    const at = (k: string) => joinPath(path, k);
    switch (type) {
      case "fixed": {
        if (!this.object(value, path, ["points"], ["type", "points"])) return undefined;
        const points = this.integer(value.points, at("points"), 0);
        return points === undefined ? undefined : { type, points };
      }
      case "per_amount": {
        const fields = ["type", "points", "per", "rounding", "items"];
        if (!this.object(value, path, ["points", "per"], fields)) return undefined;
        const points = this.integer(value.points, at("points"), 0);
        const per = this.integer(value.per, at("per"), 1);
        const rounding =
          value.rounding === undefined
            ? undefined
            : this.oneOf(value.rounding, at("rounding"), ROUNDING);
        const items = value.items === undefined ? undefined : this.items(value.items, at("items"));
        if (points === undefined || per === undefined) return undefined;
        if (value.rounding !== undefined && rounding === undefined) return undefined;
        if (value.items !== undefined && items === undefined) return undefined;
        return {
          type,
          points,
          per,
          ...(rounding === undefined ? {} : { rounding }),
          ...(items === undefined ? {} : { items }),
        };
      }
      case "multiplier": {
        const fields = ["type", "factor", "divisor", "rounding", "rules"];
        if (!this.object(value, path, ["factor"], fields)) return undefined;
        const factor = this.integer(value.factor, at("factor"), 1);
        const divisor =
          value.divisor === undefined ? 1 : this.integer(value.divisor, at("divisor"), 1);
        const rounding =
          value.rounding === undefined
            ? undefined
            : this.oneOf(value.rounding, at("rounding"), ROUNDING);
        const rules =
          value.rules === undefined ? undefined : this.list(value.rules, at("rules"), RULE_ID);
        if (factor === undefined || divisor === undefined) return undefined;
        if (factor < divisor) {
          return this.fail(
            at("factor"),
            "invalid",
            "factor must be at least divisor (a multiplier adds points)",
          );
        }
        if (value.rounding !== undefined && rounding === undefined) return undefined;
        if (value.rules !== undefined && rules === undefined) return undefined;
        return {
          type,
          factor,
          ...(value.divisor === undefined ? {} : { divisor }),
          ...(rounding === undefined ? {} : { rounding }),
          ...(rules === undefined ? {} : { rules }),
        };
      }
      case "tier": {
        if (!this.object(value, path, ["tier"], ["type", "tier"])) return undefined;
        const tier = this.text(value.tier, at("tier"), RULE_LIMITS.name);
        return tier === undefined ? undefined : { type, tier };
      }
      case "expire": {
        if (!this.object(value, path, ["days"], ["type", "days"])) return undefined;
        const days = this.integer(value.days, at("days"), 1);
        return days === undefined ? undefined : { type, days };
      }
    }
  }

  items(value: JsonValue, path: string): ItemFilter | undefined {
    if (!this.object(value, path, [], ["categories", "products", "where"])) return undefined;
    if (Object.keys(value).length === 0) {
      return this.fail(path, "invalid", "an item filter names categories, products or where");
    }
    const out: ItemFilter = {};
    let ok = true;
    for (const field of ["categories", "products"] as const) {
      if (value[field] === undefined) continue;
      const list = this.list(value[field], joinPath(path, field));
      if (list === undefined) ok = false;
      else out[field] = list;
    }
    if (value.where !== undefined) out.where = value.where;
    return ok ? out : undefined;
  }
}
