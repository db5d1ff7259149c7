import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { driverPrepareValue, prepareParam } from "./params.js";

describe("prepareParam", () => {
  it("writes every array literal exactly as the PostgreSQL driver does", () => {
    const element = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.constantFrom('a"b', "a\\b", '\\"', "", "NULL", "{x,y}", " spaced "),
      fc.integer(),
      fc.double(),
      fc.bigInt(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.array(element), (a) => {
        expect(prepareParam(a)).toBe(driverPrepareValue(a));
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves other values and arrays of other things to the driver", () => {
    const bytes = new Uint8Array([0, 1, 254]);
    const cases: unknown[] = [
      "text",
      12,
      10n,
      null,
      bytes,
      new Date(0),
      { a: 1 },
      [bytes, null],
      [["nested"], ["array"]],
      [new Date(0)],
      [{ a: 1 }],
    ];
    for (const c of cases) expect(prepareParam(c)).toEqual(driverPrepareValue(c));
  });
});
