import { describe, expect, it } from "vitest";
import { capitalise, pointNameFor } from "./point-name.js";

describe("pointNameFor", () => {
  it("gives the English singular for exactly one", () => {
    expect(pointNameFor("stars", 1, "en")).toBe("star");
    expect(pointNameFor("points", 1, "en-GB")).toBe("point");
    expect(pointNameFor("berries", 1, "en")).toBe("berry");
    expect(pointNameFor("Miles", 1, "en")).toBe("Mile");
  });

  it("keeps the name for other counts, for names that are no regular plural, and in Chinese", () => {
    expect(pointNameFor("stars", 0, "en")).toBe("stars");
    expect(pointNameFor("stars", 2, "en")).toBe("stars");
    expect(pointNameFor("bonus", 1, "en")).toBe("bonus");
    expect(pointNameFor("glass", 1, "en")).toBe("glass");
    expect(pointNameFor("stars", 1, "zh-CN")).toBe("stars");
    expect(pointNameFor("积分", 1, "zh-CN")).toBe("积分");
  });
});

describe("capitalise", () => {
  it("capitalises a sentence's first letter, and leaves CJK text and empty text alone", () => {
    expect(capitalise("stars stay pending", "en")).toBe("Stars stay pending");
    expect(capitalise("积分", "zh-CN")).toBe("积分");
    expect(capitalise("", "en")).toBe("");
  });
});
