import { afterEach, describe, expect, it, vi } from "vitest";
import { dateLocale } from "./date-locale.js";

describe("the locale dates are written in", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("is the browser's own variant of the page's language", () => {
    vi.stubGlobal("navigator", { language: "en-GB", languages: ["en-GB", "zh-CN"] });
    expect(dateLocale("en")).toBe("en-GB");
    expect(dateLocale("zh-CN")).toBe("zh-CN");
    expect(
      new Intl.DateTimeFormat(dateLocale("en"), { dateStyle: "medium", timeZone: "UTC" }).format(0),
    ).toBe("1 Jan 1970");
  });

  it("is the page's language when the browser speaks another", () => {
    vi.stubGlobal("navigator", { language: "fr-FR", languages: ["fr-FR"] });
    expect(dateLocale("en")).toBe("en");
    expect(dateLocale("zh-CN")).toBe("zh-CN");
  });
});
