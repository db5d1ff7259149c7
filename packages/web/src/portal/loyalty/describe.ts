import type { JsonValue } from "@patron/ledger";
import type { Rule } from "@patron/rules";
import { capitalise, pointNameFor } from "../../lib/point-name.js";
import { dateLocale } from "../i18n/date-locale.js";

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
  /** Further sentences: its caps, how it combines. */
  details: string[];
  /**
   * The condition as a formula when the words do not say it (shown in code, after the words
   * `loyalty.words.condition`).
   */
  condition?: string;
  /** The rule's own validity (validFrom, validUntil), a sentence of its own. */
  validity?: string;
}

/** `{ "==": [{ "var": "customer.orders" }, 0] }`: the customer's first order. */
const isFirstOrder = (logic: unknown): boolean =>
  JSON.stringify(logic) === JSON.stringify({ "==": [{ var: "customer.orders" }, 0] });

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
  /** `n` points: the count for the plural, the number as the reader writes it, the name agreeing. */
  const points = (n: number) => ({
    count: n,
    points: n.toLocaleString(language),
    pointName: pointNameFor(pointName, n, language),
  });
  const a = rule.action;
  let gives: string;
  switch (a.type) {
    case "fixed":
      gives = t("loyalty.words.fixed", points(a.points));
      break;
    case "per_amount": {
      const rounding = a.rounding ?? "floor";
      gives = t("loyalty.words.perAmount", {
        ...points(a.points),
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
      // The point name starts this sentence.
      gives = capitalise(t("loyalty.words.expire", { count: a.days, pointName }), language);
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
  // A first order is said in words; any other condition is shown as its formula, so "on every
  // order" is said only of a rule without one.
  const firstOrder = isFirstOrder(rule.condition);
  if (firstOrder) where.unshift(t("loyalty.words.scope.firstOrder"));
  if (where.length > 0)
    gives += t("loyalty.words.scope.lead", { list: where.join(t("loyalty.words.and")) });
  else if (rule.condition === true) gives += t("loyalty.words.scope.everywhere");
  else gives += t("loyalty.words.end");

  const details: string[] = [];
  let condition: string | undefined;
  if (rule.condition !== true && !firstOrder) {
    condition = formula(rule.condition) ?? JSON.stringify(rule.condition);
  }
  const c = rule.caps;
  const caps: string[] = [];
  if (c.order !== undefined) caps.push(t("loyalty.words.caps.order", points(c.order)));
  if (c.day !== undefined) caps.push(t("loyalty.words.caps.day", points(c.day)));
  if (c.period !== undefined) {
    caps.push(
      t("loyalty.words.caps.period", {
        ...points(c.period.points),
        unit: t(`loyalty.words.units.${c.period.unit}`),
      }),
    );
  }
  if (c.customer !== undefined) caps.push(t("loyalty.words.caps.customer", points(c.customer)));
  if (caps.length > 0)
    details.push(t("loyalty.words.caps.lead", { list: caps.join(t("loyalty.words.and")) }));
  const date = (iso: string) =>
    new Intl.DateTimeFormat(dateLocale(language), { dateStyle: "long", timeStyle: "short" }).format(
      new Date(iso),
    );
  let validity: string | undefined;
  if (rule.validFrom && rule.validUntil) {
    validity = t("loyalty.words.validBetween", {
      from: date(rule.validFrom),
      until: date(rule.validUntil),
    });
  } else if (rule.validFrom) {
    validity = t("loyalty.words.validFrom", { from: date(rule.validFrom) });
  } else if (rule.validUntil) {
    validity = t("loyalty.words.validUntil", { until: date(rule.validUntil) });
  }
  if (rule.stacking === "exclusive") details.push(t("loyalty.words.exclusive"));
  if (rule.stacking === "best") details.push(t("loyalty.words.best"));
  return { gives, details, condition, validity };
}
