import { describe, expect, it } from "vitest";
import type { Profile } from "../api/schemas.js";
import { formOf, rectification } from "./rectify.js";

const profile: Profile = {
  id: "c_x",
  status: "active",
  name: "Lina Portal",
  emails: ["lina@example.org"],
  phones: [{ number: "+33612345678", valid: true }],
  birthday: "1990-04-02",
  address: { line1: "1 rue de la Paix", city: "Paris", country: "FR" },
  language: "fr",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  head: 3,
  verified: [],
};

describe("rectification", () => {
  it("sends nothing when nothing changed", () => {
    expect(rectification(profile, formOf(profile))).toEqual({});
  });

  it("sends only what changed, lists split on commas, a cleared value as null", () => {
    const form = {
      ...formOf(profile),
      name: "  Lina Renamed ",
      emails: "lina@example.org, lina@work.example\n",
      birthday: "",
    };
    expect(rectification(profile, form)).toEqual({
      name: "Lina Renamed",
      emails: ["lina@example.org", "lina@work.example"],
      birthday: null,
    });
  });

  it("sends the whole address when a line changes, and null when every line is cleared", () => {
    const moved = { ...formOf(profile), city: "Lyon", country: "fr" };
    expect(rectification(profile, moved)).toEqual({
      address: { line1: "1 rue de la Paix", city: "Lyon", country: "FR" },
    });
    const cleared = { ...formOf(profile), line1: "", city: "", country: "" };
    expect(rectification(profile, cleared)).toEqual({ address: null });
  });

  it("empties a list with an empty field", () => {
    expect(rectification(profile, { ...formOf(profile), phones: " " })).toEqual({ phones: [] });
  });
});
