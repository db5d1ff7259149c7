import { describe, expect, it } from "vitest";
import { languageName } from "./profile-fields.js";

describe("languageName", () => {
  it("names a language code in the reader's language, and keeps a code it cannot name", () => {
    expect(languageName("en", "en")).toBe("English");
    expect(languageName("zh-CN", "en")).toMatch(/^Chinese/);
    expect(languageName("en", "zh-CN")).toBe("英语");
    expect(languageName("not a code!", "en")).toBe("not a code!");
  });
});
