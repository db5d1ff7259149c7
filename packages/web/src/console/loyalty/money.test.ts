import { describe, expect, it } from "vitest";
import { currencyDigits, decimalText, formatMoney, parseDecimal } from "./money.js";

describe("money", () => {
  it("knows each currency's minor units", () => {
    expect(currencyDigits("EUR")).toBe(2);
    expect(currencyDigits("JPY")).toBe(0);
    expect(currencyDigits("BHD")).toBe(3);
  });

  it("formats minor units exactly, a point's value with two more decimals", () => {
    expect(formatMoney(356, "EUR", "en")).toBe("€3.56");
    expect(formatMoney(-480, "EUR", "en")).toBe("-€4.80");
    expect(formatMoney(0, "EUR", "en")).toBe("€0.00");
    expect(formatMoney(1234, "JPY", "en")).toBe("¥1,234");
    // 125 per 100 points: a point is worth 1.25 cents.
    expect(formatMoney(125, "EUR", "en", 2)).toBe("€0.0125");
    expect(formatMoney(200, "EUR", "en", 2)).toBe("€0.02");
    expect(formatMoney(123456, "CNY", "zh-CN")).toBe("¥1,234.56");
  });

  it("reads typed amounts into minor units, and refuses what is not one", () => {
    expect(parseDecimal("12.5", 2)).toBe(1250);
    expect(parseDecimal("12,50", 2)).toBe(1250);
    expect(parseDecimal(" 7 ", 2)).toBe(700);
    expect(parseDecimal("0.0125", 4)).toBe(125);
    expect(parseDecimal("0.00001", 4)).toBeUndefined();
    expect(parseDecimal("-1", 2)).toBeUndefined();
    expect(parseDecimal("1e3", 2)).toBeUndefined();
    expect(parseDecimal("", 2)).toBeUndefined();
  });

  it("writes minor units back as staff would type them", () => {
    expect(decimalText(1250, 2)).toBe("12.5");
    expect(decimalText(125, 4)).toBe("0.0125");
    expect(decimalText(100, 4)).toBe("0.01");
    expect(decimalText(0, 2)).toBe("0");
    expect(decimalText(700, 0)).toBe("700");
  });
});
