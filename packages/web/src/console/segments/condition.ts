import { CHANNEL_KINDS, STAGES } from "../api/schemas.js";

// The builder's rules and the JsonLogic the node evaluates (GET /docs, segments): each rule
// reads one non-personal fact; personal fields cannot be a condition at all.

export const RULE_FIELDS = [
  "stage",
  "tag",
  "channel",
  "language",
  "country",
  "birthMonth",
  "createdAfter",
  "createdBefore",
] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export interface Rule {
  field: RuleField;
  negated: boolean;
  value: string;
}

export type Combinator = "and" | "or";

/** JsonLogic for one rule; undefined while its value is still empty or not well formed. */
export function ruleLogic(rule: Rule): unknown {
  const value = rule.value.trim();
  if (value === "") return undefined;
  let logic: unknown;
  switch (rule.field) {
    case "stage":
    case "language":
    case "country":
      logic = {
        "==": [{ var: rule.field }, rule.field === "country" ? value.toUpperCase() : value],
      };
      break;
    case "tag":
      logic = { in: [value, { var: "tags" }] };
      break;
    case "channel":
      logic = { in: [value, { var: "channels" }] };
      break;
    case "birthMonth": {
      const month = Number(value);
      if (!Number.isInteger(month) || month < 1 || month > 12) return undefined;
      logic = { "==": [{ var: "birthMonth" }, month] };
      break;
    }
    case "createdAfter":
    case "createdBefore": {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
      const at = `${value}T00:00:00.000Z`;
      logic = { [rule.field === "createdAfter" ? ">=" : "<"]: [{ var: "createdAt" }, at] };
      break;
    }
  }
  return rule.negated ? { "!": logic } : logic;
}

/** The whole condition: every complete rule, joined; `true` (everyone) without any. */
export function conditionOf(combinator: Combinator, rules: readonly Rule[]): unknown {
  const parts = rules.map(ruleLogic).filter((x) => x !== undefined);
  if (parts.length === 0) return true;
  if (parts.length === 1) return parts[0];
  return { [combinator]: parts };
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** `{ op: [a, b] }` as [op, a, b], for an object of exactly one key holding a pair. */
function pairOf(x: unknown): [string, unknown, unknown] | undefined {
  if (!isObject(x)) return undefined;
  const keys = Object.keys(x);
  if (keys.length !== 1) return undefined;
  const op = keys[0] as string;
  const args = x[op];
  if (!Array.isArray(args) || args.length !== 2) return undefined;
  return [op, args[0], args[1]];
}

/** The fact a `{ var: … }` names. */
function varOf(x: unknown): string | undefined {
  if (!isObject(x) || Object.keys(x).length !== 1) return undefined;
  return typeof x.var === "string" ? x.var : undefined;
}

/** The rule `ruleLogic` would have written this JsonLogic for, or undefined. */
export function ruleOf(logic: unknown): Rule | undefined {
  if (isObject(logic) && Object.keys(logic).length === 1 && "!" in logic) {
    const inner = ruleOf(logic["!"]);
    return inner && !inner.negated ? { ...inner, negated: true } : undefined;
  }
  const pair = pairOf(logic);
  if (!pair) return undefined;
  const [op, a, b] = pair;
  const rule = (field: RuleField, value: string): Rule | undefined =>
    value.trim() === "" || value.trim() !== value ? undefined : { field, negated: false, value };
  if (op === "==") {
    const fact = varOf(a);
    // The builder offers the stages and channels the console knows, in a list.
    if (fact === "stage" && (STAGES as readonly unknown[]).includes(b))
      return rule(fact, b as string);
    if (fact === "language" && typeof b === "string") return rule(fact, b);
    if (fact === "country" && typeof b === "string" && b === b.toUpperCase()) {
      return rule("country", b);
    }
    if (
      fact === "birthMonth" &&
      typeof b === "number" &&
      Number.isInteger(b) &&
      b >= 1 &&
      b <= 12
    ) {
      return rule("birthMonth", String(b));
    }
    return undefined;
  }
  if (op === "in" && typeof a === "string") {
    const fact = varOf(b);
    if (fact === "tags") return rule("tag", a);
    if (fact === "channels" && ["email", "phone", ...CHANNEL_KINDS].includes(a)) {
      return rule("channel", a);
    }
    return undefined;
  }
  if ((op === ">=" || op === "<") && varOf(a) === "createdAt" && typeof b === "string") {
    const day = /^(\d{4}-\d{2}-\d{2})T00:00:00\.000Z$/.exec(b)?.[1];
    if (!day) return undefined;
    return rule(op === ">=" ? "createdAfter" : "createdBefore", day);
  }
  return undefined;
}

/**
 * The builder's rules for a saved condition, when the builder can show it exactly (what it
 * writes itself: `true`, one rule, or rules joined by `and` or `or`); undefined otherwise, and
 * the condition is then edited as JsonLogic.
 */
export function rulesOf(condition: unknown): { combinator: Combinator; rules: Rule[] } | undefined {
  if (condition === true) return { combinator: "and", rules: [] };
  const single = ruleOf(condition);
  if (single) return { combinator: "and", rules: [single] };
  if (!isObject(condition) || Object.keys(condition).length !== 1) return undefined;
  const combinator = Object.keys(condition)[0];
  if (combinator !== "and" && combinator !== "or") return undefined;
  const parts = condition[combinator];
  // The builder joins two rules or more; fewer it writes bare.
  if (!Array.isArray(parts) || parts.length < 2) return undefined;
  const rules = parts.map(ruleOf);
  if (rules.some((r) => r === undefined)) return undefined;
  return { combinator, rules: rules as Rule[] };
}

/** JSON with its object keys sorted: two conditions that say the same compare equal. */
export function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (isObject(x)) {
    return `{${Object.keys(x)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(x) ?? "null";
}
