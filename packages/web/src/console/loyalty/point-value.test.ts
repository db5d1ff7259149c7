import { describe, expect, it } from "vitest";
import { valueChangeToConfirm } from "./point-value.js";

const eur = (valuePer100Points: number) => ({ valuePer100Points, currency: "EUR" });

describe("valueChangeToConfirm", () => {
  it("leaves changes of 20 % or less, and no change, unconfirmed", () => {
    expect(valueChangeToConfirm(eur(100), eur(100))).toBeUndefined();
    expect(valueChangeToConfirm(eur(100), eur(120))).toBeUndefined();
    expect(valueChangeToConfirm(eur(100), eur(80))).toBeUndefined();
  });

  it("asks for more than 20 % either way, with the change in percent", () => {
    expect(valueChangeToConfirm(eur(100), eur(121))?.percent).toBe(21);
    // A 50× devaluation.
    expect(valueChangeToConfirm(eur(100), eur(2))).toEqual({
      before: eur(100),
      after: eur(2),
      percent: -98,
    });
    expect(valueChangeToConfirm(eur(100), eur(200))?.percent).toBe(100);
    expect(valueChangeToConfirm(eur(100), eur(0))?.percent).toBe(-100);
  });

  it("asks, without a percent, from nothing or into another currency", () => {
    expect(valueChangeToConfirm(eur(0), eur(1))).toMatchObject({ percent: null });
    expect(
      valueChangeToConfirm(eur(100), { valuePer100Points: 100, currency: "CNY" }),
    ).toMatchObject({ percent: null });
  });
});
