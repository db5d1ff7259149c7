// The common rules as forms: each template turns its fields into a rule document
// (docs/rules.md) and reads a document back into its fields when the document is exactly one
// it would write, so a rule saved from a form opens in that form again. Anything else opens as
// JSON. A new template is one more entry of TEMPLATES.

export const TEMPLATE_IDS = [
  "fixed",
  "per_amount",
  "category_bonus",
  "product_bonus",
  "campaign",
  "first_order",
] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

/** The fields of every template, as the form holds them (text, as typed). */
export interface RuleFields {
  template: TemplateId;
  name: string;
  description: string;
  /** Points given: a fixed number, or per `per` of amount. */
  points: string;
  /** The amount per which `points` are given, in the programme's currency (`1.00`). */
  per: string;
  rounding: "floor" | "ceil" | "half_up";
  /** The least order amount, in the currency; blank: any. */
  minAmount: string;
  /** Comma-separated lists; blank: all. */
  channels: string;
  categories: string;
  products: string;
  /** The multiplier, as a decimal (`2`, `1.5`). */
  factor: string;
  /** The rules a multiplier multiplies (ids, comma-separated); blank: every other earn rule. */
  multiplies: string;
  /** `YYYY-MM-DDTHH:mm` in the browser's time zone; blank: no bound. */
  validFrom: string;
  validUntil: string;
}

export const EMPTY_FIELDS: RuleFields = {
  template: "per_amount",
  name: "",
  description: "",
  points: "1",
  per: "1",
  rounding: "floor",
  minAmount: "",
  channels: "",
  categories: "",
  products: "",
  factor: "2",
  multiplies: "",
  validFrom: "",
  validUntil: "",
};

/** Which fields a template shows, in order (name and description always). */
export const TEMPLATE_FIELDS: Record<TemplateId, readonly (keyof RuleFields)[]> = {
  fixed: ["points", "minAmount", "channels", "validFrom", "validUntil"],
  per_amount: ["points", "per", "rounding", "minAmount", "channels", "validFrom", "validUntil"],
  category_bonus: [
    "categories",
    "points",
    "per",
    "rounding",
    "channels",
    "validFrom",
    "validUntil",
  ],
  product_bonus: ["products", "points", "per", "rounding", "channels", "validFrom", "validUntil"],
  campaign: ["factor", "multiplies", "channels", "validFrom", "validUntil"],
  first_order: ["points", "channels", "validFrom", "validUntil"],
};

/** A field's problem: a catalogue key under `loyalty.rule.problems`. */
export type FieldProblems = Partial<Record<keyof RuleFields, string>>;

const list = (text: string) =>
  text
    .split(/[,，\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function amount(text: string, digits: number): number | undefined {
  const m = /^\s*(\d{1,13})(?:[.,](\d*))?\s*$/.exec(text);
  if (!m) return undefined;
  const fraction = m[2] ?? "";
  if (fraction.length > digits) return undefined;
  return Number(`${m[1]}${fraction.padEnd(digits, "0")}`);
}

const amountText = (minor: number, digits: number) => {
  if (digits === 0) return String(minor);
  const s = String(minor).padStart(digits + 1, "0");
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`.replace(/\.?0+$/, "");
};

/** `2` → 2/1, `1.5` → 3/2, `1.25` → 5/4: the smallest integer factor and divisor. */
export function ratio(text: string): { factor: number; divisor: number } | undefined {
  const m = /^\s*(\d{1,6})(?:[.,](\d{1,4}))?\s*$/.exec(text);
  if (!m) return undefined;
  const fraction = m[2] ?? "";
  let factor = Number(`${m[1]}${fraction}`);
  let divisor = 10 ** fraction.length;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(factor, divisor);
  factor /= g;
  divisor /= g;
  return factor >= divisor && factor > 1 ? { factor, divisor } : undefined;
}

const localInput = (iso: string) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
/** A `datetime-local` value as an RFC 3339 instant (the browser's time zone), or undefined. */
export const instantOf = (local: string) => {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

/**
 * The rule document the fields describe, or the problems that keep it from being one (each a
 * catalogue key). `digits`: the minor-unit digits of the programme's currency.
 */
export function documentOf(
  f: RuleFields,
  digits: number,
): { document: Record<string, unknown> } | { problems: FieldProblems } {
  const problems: FieldProblems = {};
  const shown = new Set(TEMPLATE_FIELDS[f.template]);
  if (f.name.trim() === "") problems.name = "nameEmpty";
  const int = (k: "points") => {
    const n = /^\s*\d{1,9}\s*$/.test(f[k]) ? Number(f[k]) : undefined;
    if (n === undefined) problems[k] = "pointsInvalid";
    return n ?? 0;
  };
  const points = shown.has("points") ? int("points") : 0;
  let per = 0;
  if (shown.has("per")) {
    per = amount(f.per, digits) ?? 0;
    if (per < 1) problems.per = "perInvalid";
  }
  let min: number | undefined;
  if (shown.has("minAmount") && f.minAmount.trim() !== "") {
    min = amount(f.minAmount, digits);
    if (min === undefined) problems.minAmount = "amountInvalid";
  }
  const categories = list(f.categories);
  const products = list(f.products);
  if (f.template === "category_bonus" && categories.length === 0) problems.categories = "listEmpty";
  if (f.template === "product_bonus" && products.length === 0) problems.products = "listEmpty";
  const factor = shown.has("factor") ? ratio(f.factor) : undefined;
  if (shown.has("factor") && !factor) problems.factor = "factorInvalid";
  const from = instantOf(f.validFrom);
  const until = instantOf(f.validUntil);
  if (f.template === "campaign") {
    if (!from) problems.validFrom = "dateNeeded";
    if (!until) problems.validUntil = "dateNeeded";
  }
  if (from && until && until <= from) problems.validUntil = "untilBeforeFrom";
  if (Object.keys(problems).length > 0) return { problems };

  let condition: unknown = true;
  if (f.template === "first_order") condition = { "==": [{ var: "customer.orders" }, 0] };
  else if (min !== undefined) condition = { ">=": [{ var: "order.amount" }, min] };
  let action: Record<string, unknown>;
  switch (f.template) {
    case "fixed":
    case "first_order":
      action = { type: "fixed", points };
      break;
    case "per_amount":
    case "category_bonus":
    case "product_bonus":
      action = {
        type: "per_amount",
        points,
        per,
        ...(f.rounding === "floor" ? {} : { rounding: f.rounding }),
      };
      break;
    case "campaign": {
      const rules = list(f.multiplies);
      action = {
        type: "multiplier",
        factor: factor?.factor,
        ...(factor?.divisor === 1 ? {} : { divisor: factor?.divisor }),
        ...(rules.length ? { rules } : {}),
      };
      break;
    }
  }
  const scope: Record<string, string[]> = {};
  const channels = list(f.channels);
  if (channels.length) scope.channels = channels;
  if (f.template === "category_bonus") scope.categories = categories;
  if (f.template === "product_bonus") scope.products = products;
  return {
    document: {
      name: f.name.trim(),
      ...(f.description.trim() ? { description: f.description.trim() } : {}),
      kind: "earn",
      condition,
      action,
      ...(Object.keys(scope).length ? { scope } : {}),
      ...(from ? { validFrom: from } : {}),
      ...(until ? { validUntil: until } : {}),
    },
  };
}

/** JSON with sorted keys: two documents that say the same are the same text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Defaults the node fills in, dropped so a saved document compares with a form's. */
function withoutDefaults(doc: Record<string, unknown>): Record<string, unknown> {
  const out = { ...doc };
  const empty = (v: unknown) =>
    v !== null && typeof v === "object" && Object.keys(v as object).length === 0;
  if (empty(out.scope)) delete out.scope;
  if (empty(out.caps)) delete out.caps;
  if (out.priority === 0) delete out.priority;
  if (out.stacking === "stack") delete out.stacking;
  return out;
}

/** The template fields that write exactly `document`, or undefined: it opens as JSON. */
export function fieldsOf(document: unknown, digits: number): RuleFields | undefined {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    return undefined;
  }
  const doc = withoutDefaults(document as Record<string, unknown>);
  const action = (doc.action ?? {}) as Record<string, unknown>;
  const scope = (doc.scope ?? {}) as Record<string, unknown>;
  const condition = doc.condition as Record<string, unknown> | true | undefined;
  const asList = (v: unknown) => (Array.isArray(v) ? v.join(", ") : "");
  const minAmount =
    condition && condition !== true && Array.isArray(condition[">="])
      ? (condition[">="] as unknown[])[1]
      : undefined;
  const local = (v: unknown) => (typeof v === "string" ? (localInput(v) ?? "") : "");
  const base: RuleFields = {
    ...EMPTY_FIELDS,
    name: typeof doc.name === "string" ? doc.name : "",
    description: typeof doc.description === "string" ? doc.description : "",
    points: typeof action.points === "number" ? String(action.points) : EMPTY_FIELDS.points,
    per: typeof action.per === "number" ? amountText(action.per, digits) : EMPTY_FIELDS.per,
    rounding: (action.rounding as RuleFields["rounding"] | undefined) ?? "floor",
    minAmount: typeof minAmount === "number" ? amountText(minAmount, digits) : "",
    channels: asList(scope.channels),
    categories: asList(scope.categories),
    products: asList(scope.products),
    factor:
      typeof action.factor === "number"
        ? String(action.factor / (typeof action.divisor === "number" ? action.divisor : 1))
        : EMPTY_FIELDS.factor,
    multiplies: asList(action.rules),
    validFrom: local(doc.validFrom),
    validUntil: local(doc.validUntil),
  };
  // The template whose document is exactly this one (instants compared as instants).
  const same = (made: Record<string, unknown>) => {
    const norm = (d: Record<string, unknown>) => ({
      ...d,
      validFrom: typeof d.validFrom === "string" ? Date.parse(d.validFrom) : undefined,
      validUntil: typeof d.validUntil === "string" ? Date.parse(d.validUntil) : undefined,
    });
    return canonical(norm(made)) === canonical(norm(doc));
  };
  for (const template of TEMPLATE_IDS) {
    const f = { ...base, template };
    const made = documentOf(f, digits);
    if ("document" in made && same(made.document)) return f;
  }
  return undefined;
}
