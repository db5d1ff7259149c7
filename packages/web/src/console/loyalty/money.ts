// Amounts in minor units (cents, fen), as the node keeps them, and the text staff type.

const digitsOf = new Map<string, number>();

/** How many minor-unit digits a currency has (EUR 2, JPY 0); 2 for a code Intl does not know. */
export function currencyDigits(currency: string): number {
  let d = digitsOf.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits as number;
    } catch {
      d = 2;
    }
    digitsOf.set(currency, d);
  }
  return d;
}

/**
 * `minor` units of `currency` divided by 10^`extra` more (a point's value is per 100 points:
 * extra 2), formatted for `locale`. Exact: no float arithmetic on the amount.
 */
export function formatMoney(minor: number, currency: string, locale: string, extra = 0): string {
  const digits = currencyDigits(currency) + extra;
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: Math.max(currencyDigits(currency), trimmedDigits(decimal)),
      maximumFractionDigits: digits,
    }).format(`${negative ? "-" : ""}${decimal}` as unknown as number);
  } catch {
    return `${negative ? "-" : ""}${decimal} ${currency}`;
  }
}

const trimmedDigits = (decimal: string) => {
  const at = decimal.indexOf(".");
  return at < 0 ? 0 : decimal.slice(at + 1).replace(/0+$/, "").length;
};

/** A decimal amount as text (`12.5`) in units of 10^-`digits`, or undefined when it is not one. */
export function parseDecimal(text: string, digits: number): number | undefined {
  const m = /^\s*(\d{1,15})(?:[.,](\d*))?\s*$/.exec(text);
  if (!m) return undefined;
  const fraction = m[2] ?? "";
  if (fraction.length > digits) return undefined;
  const n = Number(`${m[1]}${fraction.padEnd(digits, "0")}`);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Minor units as the decimal text staff would type (`1250`, EUR → `12.50`). */
export function decimalText(value: number, digits: number): string {
  if (digits === 0) return String(value);
  const text = String(Math.abs(value)).padStart(digits + 1, "0");
  const out = `${text.slice(0, -digits)}.${text.slice(-digits)}`.replace(/\.?0+$/, "");
  return `${value < 0 ? "-" : ""}${out}`;
}
