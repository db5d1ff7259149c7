import { describe, expect, it } from "vitest";
import {
  ISO_3166_ALPHA2,
  isCountryCode as nodeTakes,
  PHONE_REGIONS,
} from "../../../../server/src/customers/countries.js";
import { COUNTRY_CODES, isCountryCode } from "./countries.js";

describe("the console's country codes", () => {
  it("are the node's, no more and no fewer", () => {
    const node = [...ISO_3166_ALPHA2, ...PHONE_REGIONS].sort();
    expect([...COUNTRY_CODES].sort()).toEqual(node);
    for (const code of ["FR", "CN", "XK", "ZZ", "QQ", "UK", "fr", "FRA", ""]) {
      expect(isCountryCode(code), code).toBe(nodeTakes(code));
    }
  });
});
