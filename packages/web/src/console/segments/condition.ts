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
