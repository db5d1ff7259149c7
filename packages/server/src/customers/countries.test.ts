import { getCountries } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import { ISO_3166_ALPHA2, isCountryCode, PHONE_REGIONS } from "./countries.js";

describe("country codes", () => {
  it("holds the 249 assigned ISO 3166-1 codes, each a region CLDR names", () => {
    expect(ISO_3166_ALPHA2.size).toBe(249);
    const names = new Intl.DisplayNames(["en"], { type: "region" });
    const unnamed = [...ISO_3166_ALPHA2].filter((c) => {
      const name = names.of(c);
      return name === c || name === "Unknown Region";
    });
    expect(unnamed).toEqual([]);
  });

  it("takes every region a phone number can be from, and nothing else beyond ISO", () => {
    const phones = getCountries();
    expect(phones.filter((c) => !isCountryCode(c))).toEqual([]);
    expect(phones.filter((c) => !ISO_3166_ALPHA2.has(c)).sort()).toEqual([...PHONE_REGIONS]);
  });

  it("refuses two letters that name no country, and other spellings", () => {
    for (const code of ["ZZ", "QQ", "XX", "AA", "UK", "EU", "fr", "FRA", "F", ""]) {
      expect(isCountryCode(code), code).toBe(false);
    }
    for (const code of ["FR", "GB", "AQ", "SS", "XK"]) expect(isCountryCode(code), code).toBe(true);
  });
});
