import type { JsonValue } from "@patron/ledger";
import type { Rule } from "@patron/rules";

// A published rule in plain words, generated from its document: what it gives (fixed,
// per_amount, multiplier, tier, expire), where (scope), up to what (caps), when (validity) and
// how it combines. The words are the catalogues' (loyalty.words.*); a condition the words do
// not cover is shown as a short formula, and the whole document is always one click away.

export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** An amount in minor units as money in `currency` (EUR 250 → €2.50). */
export function formatMoney(minor: number, currency: string, language: string): string {
  try {
    const format = new Intl.NumberFormat(language, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minor / 10 ** digits);
  } catch {
    return `${minor} (${currency})`;
  }
}

const list = (values: readonly string[], t: Translate) =>
  values.join(t("loyalty.words.listSeparator"));

const OPERATORS: Record<string, string> = {
  "==": "=",
  "===": "=",
  "!=": "≠",
  "!==": "≠",
  "<": "<",
  "<=": "≤",
  ">": ">",
  ">=": "≥",
  "+": "+",
  "-": "−",
  "*": "×",
  "%": "mod",
};

/** A JsonLogic condition as a short formula (`customer.orders = 0`), or undefined if too deep. */
export function formula(logic: JsonValue, depth = 0): string | undefined {
  if (depth > 6) return undefined;
  if (logic === null || typeof logic !== "object") return JSON.stringify(logic);
  if (Array.isArray(logic)) {
    const parts = logic.map((x) => formula(x, depth + 1));
    return parts.some((p) => p === undefined) ? undefined : `[${parts.join(", ")}]`;
  }
  const keys = Object.keys(logic);
  if (keys.length !== 1) return undefined;
  const op = keys[0] as string;
  const raw = logic[op] as JsonValue;
  const args = Array.isArray(raw) ? raw : [raw];
  if (op === "var") {
    const path = args[0];
    return typeof path === "string" ? path : undefined;
  }
  const parts = args.map((a) => formula(a, depth + 1));
  if (parts.some((p) => p === undefined)) return undefined;
  const p = parts as string[];
  const infix = OPERATORS[op];
  if (infix && p.length === 2) return `${p[0]} ${infix} ${p[1]}`;
  if (op === "and" || op === "or") return p.map((x) => `(${x})`).join(` ${op} `);
  if (op === "!" && p.length === 1) return `not (${p[0]})`;
  if (op === "!!" && p.length === 1) return `${p[0]}`;
  if (op === "in" && p.length === 2) return `${p[0]} in ${p[1]}`;
  return `${op}(${p.join(", ")})`;
}

export interface RuleWords {
  /** What it gives, for what: "10 beans for every €1.00 spent, on coffee". */
  gives: string;
  /** Further sentences: its condition, caps, validity, how it combines. */
  details: string[];
  /** The condition as a formula when the words do not say it (shown in code). */
  condition?: string;
}

/**
 * The rule in words. `pointName` is the programme's ("points", "beans"); amounts are money in
 * the programme's currency; dates in the reader's language.
 */
export function describeRule(
  rule: Rule,
  opts: { pointName: string; currency: string; language: string; t: Translate },
): RuleWords {
  const { t, pointName, currency, language } = opts;
  const money = (n: number) => formatMoney(n, currency, language);
  const a = rule.action;
  let gives: string;
  switch (a.type) {
    case "fixed":
      gives = t("loyalty.words.fixed", { points: a.points, pointName });
      break;
    case "per_amount": {
      const rounding = a.rounding ?? "floor";
      gives = t("loyalty.words.perAmount", {
        points: a.points,
        pointName,
        per: money(a.per),
        rounding: t(`loyalty.words.rounding.${rounding}`),
      });
      if (a.items?.categories?.length) {
        gives += t("loyalty.words.itemsCategories", { list: list(a.items.categories, t) });
      }
      if (a.items?.products?.length) {
        gives += t("loyalty.words.itemsProducts", { list: list(a.items.products, t) });
      }
      break;
    }
    case "multiplier": {
      const divisor = a.divisor ?? 1;
      const factor = divisor === 1 ? String(a.factor) : `${a.factor}/${divisor}`;
      gives = a.rules?.length
        ? t("loyalty.words.multiplierOf", { factor, list: list(a.rules, t), pointName })
        : t("loyalty.words.multiplier", { factor, pointName });
      break;
    }
    case "tier":
      gives = t("loyalty.words.tier", { tier: a.tier });
      break;
    case "expire":
      gives = t("loyalty.words.expire", { count: a.days, pointName });
      break;
  }
  const s = rule.scope;
  const where: string[] = [];
  if (s.channels?.length)
    where.push(t("loyalty.words.scope.channels", { list: list(s.channels, t) }));
  if (s.stores?.length) where.push(t("loyalty.words.scope.stores", { list: list(s.stores, t) }));
  if (s.categories?.length)
    where.push(t("loyalty.words.scope.categories", { list: list(s.categories, t) }));
  if (s.products?.length)
    where.push(t("loyalty.words.scope.products", { list: list(s.products, t) }));
  if (s.segments?.length)
    where.push(t("loyalty.words.scope.segments", { list: list(s.segments, t) }));
  if (s.tiers?.length) where.push(t("loyalty.words.scope.tiers", { list: list(s.tiers, t) }));
  if (where.length > 0)
    gives += t("loyalty.words.scope.lead", { list: where.join(t("loyalty.words.and")) });
  else gives += t("loyalty.words.scope.everywhere");

  const details: string[] = [];
  let condition: string | undefined;
  if (rule.condition !== true) {
    condition = formula(rule.condition) ?? JSON.stringify(rule.condition);
    details.push(t("loyalty.words.condition"));
  }
  const c = rule.caps;
  const caps: string[] = [];
  if (c.order !== undefined)
    caps.push(t("loyalty.words.caps.order", { count: c.order, pointName }));
  if (c.day !== undefined) caps.push(t("loyalty.words.caps.day", { count: c.day, pointName }));
  if (c.period !== undefined) {
    caps.push(
      t("loyalty.words.caps.period", {
        count: c.period.points,
        pointName,
        unit: t(`loyalty.words.units.${c.period.unit}`),
      }),
    );
  }
  if (c.customer !== undefined) {
    caps.push(t("loyalty.words.caps.customer", { count: c.customer, pointName }));
  }
  if (caps.length > 0)
    details.push(t("loyalty.words.caps.lead", { list: caps.join(t("loyalty.words.and")) }));
  const date = (iso: string) =>
    new Intl.DateTimeFormat(language, { dateStyle: "long", timeStyle: "short" }).format(
      new Date(iso),
    );
  if (rule.validFrom && rule.validUntil) {
    details.push(
      t("loyalty.words.validBetween", { from: date(rule.validFrom), until: date(rule.validUntil) }),
    );
  } else if (rule.validFrom) {
    details.push(t("loyalty.words.validFrom", { from: date(rule.validFrom) }));
  } else if (rule.validUntil) {
    details.push(t("loyalty.words.validUntil", { until: date(rule.validUntil) }));
  }
  if (rule.stacking === "exclusive") details.push(t("loyalty.words.exclusive"));
  if (rule.stacking === "best") details.push(t("loyalty.words.best"));
  return { gives, details, condition };
}
