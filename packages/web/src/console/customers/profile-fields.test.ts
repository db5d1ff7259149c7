import { describe, expect, it } from "vitest";
import { ConsoleApiError } from "../api/client.js";
import {
  AddressValues,
  AttributeValues,
  addressChanged,
  addressToSend,
  addressValues,
  attributePatch,
  attributeRows,
  profileFieldErrors,
} from "./profile-fields.js";

const current = { points: 120, vip: true, tier: "gold", code: "42" };

describe("the address in the edit form", () => {
  it("sends the lines given, the country in capitals, or null for none", () => {
    const values = addressValues({ line1: "88 Nanjing Road", country: "CN" });
    expect(values).toEqual({
      line1: "88 Nanjing Road",
      line2: "",
      city: "",
      region: "",
      postcode: "",
      country: "CN",
    });
    expect(addressToSend({ ...values, city: " Shanghai ", country: "cn" })).toEqual({
      line1: "88 Nanjing Road",
      city: "Shanghai",
      country: "CN",
    });
    expect(addressToSend(addressValues(null))).toBeNull();
    expect(addressToSend({ ...addressValues(null), line2: "   " })).toBeNull();
  });

  it("sees a change in any line, and none in the same address", () => {
    const held = { line1: "1 Rue de Rivoli", city: "Paris", country: "FR" };
    expect(addressChanged({ ...held }, held)).toBe(false);
    expect(addressChanged(null, null)).toBe(false);
    expect(addressChanged(null, held)).toBe(true);
    expect(addressChanged({ ...held, postcode: "75001" }, held)).toBe(true);
    expect(addressChanged({ line1: "1 Rue de Rivoli", city: "Paris" }, held)).toBe(true);
  });

  it("refuses a country that is not two letters and a line too long", () => {
    const ok = AddressValues.safeParse({ ...addressValues(null), country: "fr" });
    expect(ok.success).toBe(true);
    const bad = AddressValues.safeParse({
      ...addressValues(null),
      country: "FRA",
      postcode: "1".repeat(21),
    });
    expect(bad.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["postcode", "form.tooLong"],
      ["country", "form.countryInvalid"],
    ]);
  });

  it("refuses two letters that name no country, as the node would, in either case", () => {
    const issues = (country: string) =>
      AddressValues.safeParse({ ...addressValues(null), country }).error?.issues.map((i) => [
        i.path.join("."),
        i.message,
      ]) ?? [];
    for (const country of ["ZZ", "qq", "UK", " eu "]) {
      expect(issues(country), country).toEqual([["country", "form.countryUnknown"]]);
    }
    for (const country of ["", "FR", "cn", "XK", "AQ"])
      expect(issues(country), country).toEqual([]);
  });
});

describe("attributes in the edit form", () => {
  it("shows each attribute as a row of its type, by name", () => {
    expect(attributeRows(current)).toEqual([
      { key: "code", type: "string", value: "42" },
      { key: "points", type: "number", value: "120" },
      { key: "tier", type: "string", value: "gold" },
      { key: "vip", type: "boolean", value: "true" },
    ]);
  });

  it("sends only what changed, null for a row removed, a text that looks like a number as text", () => {
    const rows = attributeRows(current);
    expect(attributePatch(rows, current)).toEqual({});
    const changed = rows
      .filter((r) => r.key !== "vip")
      .map((r) => (r.key === "tier" ? { ...r, value: "platinum" } : r));
    changed.push({ key: " shoe_size ", type: "number", value: " 38.5 " });
    expect(attributePatch(changed, current)).toEqual({
      tier: "platinum",
      shoe_size: 38.5,
      vip: null,
    });
    // The same value in another type is a change; a rename removes the old name.
    const retyped = rows.map((r) => (r.key === "code" ? { ...r, type: "number" as const } : r));
    expect(attributePatch(retyped, current)).toEqual({ code: 42 });
    const renamed = rows.map((r) => (r.key === "tier" ? { ...r, key: "level" } : r));
    expect(attributePatch(renamed, current)).toEqual({ level: "gold", tier: null });
    // A row the form would refuse neither changes nor removes its attribute.
    const broken = rows.map((r) => (r.key === "points" ? { ...r, value: "lots" } : r));
    expect(attributePatch(broken, current)).toEqual({});
  });

  it("refuses a bad or repeated name, an empty value and a number that is none", () => {
    const parsed = AttributeValues.safeParse([
      { key: "", type: "string", value: "x" },
      { key: "Shoe Size", type: "string", value: "x" },
      { key: "tier", type: "string", value: "gold" },
      { key: "tier", type: "string", value: "  " },
      { key: "points", type: "number", value: "0x10" },
      { key: "big", type: "number", value: "1e400" },
      { key: "ok", type: "number", value: "-.5e3" },
      { key: "yes", type: "boolean", value: "maybe" },
      { key: "odd", type: "string", value: "a\u202eb" },
    ]);
    expect(parsed.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["0.key", "form.attributeKeyEmpty"],
      ["1.key", "form.attributeKey"],
      ["3.key", "form.attributeDuplicate"],
      ["3.value", "form.attributeEmpty"],
      ["4.value", "form.numberInvalid"],
      ["5.value", "form.numberInvalid"],
      ["7.value", "form.attributeEmpty"],
      ["8.value", "form.controls"],
    ]);
  });
});

describe("the node's refusals of the address and attributes", () => {
  const rows = [
    { key: "tier", type: "string" as const, value: "gold" },
    { key: "shoe_size", type: "number" as const, value: "38.5" },
  ];
  const refused = (details: unknown, code = "invalid_request") =>
    new ConsoleApiError(400, code, "refused", details);

  it("go beside the address line or the attribute row they are about", () => {
    // The node's validation issues, as it words them.
    const err = refused([
      { path: "body/address/line1", message: "Too small: expected string to have >=1 characters" },
      { path: "body/address/country", message: "must be an ISO 3166-1 alpha-2 code such as FR" },
      { path: "body/attributes/shoe_size", message: "Invalid input" },
      { path: "body/attributes/tier", message: "Invalid key in record" },
      { path: "body/name", message: "not mine" },
    ]);
    expect(profileFieldErrors(err, rows)).toEqual([
      { name: "address.line1", message: "Too small: expected string to have >=1 characters" },
      // The country in the console's language: the form sends two letters, so it names none.
      { name: "address.country", message: "form.countryUnknown", catalogue: true },
      { name: "attributes.1.value", message: "Invalid input" },
      { name: "attributes.0.key", message: "Invalid key in record" },
    ]);
  });

  it("put a refusal of the attributes as a whole under them all", () => {
    const tooMany = new ConsoleApiError(
      400,
      "too_many_attributes",
      "a customer has at most 50 attributes",
    );
    expect(profileFieldErrors(tooMany, rows)).toEqual([
      { name: "attributes.root", message: "a customer has at most 50 attributes" },
    ]);
    expect(
      profileFieldErrors(refused([{ path: "body/attributes", message: "at most 50" }]), rows),
    ).toEqual([{ name: "attributes.root", message: "at most 50" }]);
    expect(
      profileFieldErrors(refused([{ path: "body/attributes/gone", message: "Invalid" }]), rows),
    ).toEqual([{ name: "attributes.root", message: "Invalid" }]);
  });

  it("leave every other refusal to the rest of the form", () => {
    expect(profileFieldErrors(new Error("offline"), rows)).toEqual([]);
    expect(profileFieldErrors(refused(undefined, "invalid_email"), rows)).toEqual([]);
    expect(
      profileFieldErrors(refused([{ path: "body/address", message: "Unrecognized key" }]), rows),
    ).toEqual([]);
  });
});
