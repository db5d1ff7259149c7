import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { attachmentCommitment, commitment } from "./commitment.js";

const salt = new Uint8Array(16).map((_, i) => i);
const value = { customer: "c_42", field: "email", version: 3, value: "ana@example.com" };

// The commitment computed by hand: SHA-256 over the salt and the JCS text written out here.
const expected = createHash("sha256")
  .update(salt)
  .update('{"customer":"c_42","field":"email","value":"ana@example.com","version":3}')
  .digest("hex");

describe("commitment", () => {
  it("is SHA-256(salt ‖ JCS({customer, field, version, value}))", () => {
    expect(Buffer.from(commitment(salt, value)).toString("hex")).toBe(expected);
    const reordered = { value: "ana@example.com", version: 3, field: "email", customer: "c_42" };
    expect(Buffer.from(commitment(salt, reordered)).toString("hex")).toBe(expected);
  });

  it("binds every member and the salt", () => {
    const ref = Buffer.from(commitment(salt, value)).toString("hex");
    const variants = [
      { ...value, customer: "c_43" },
      { ...value, field: "phone" },
      { ...value, version: 4 },
      { ...value, value: "ana@example.org" },
      { ...value, value: { structured: ["ana", "example.com"] } },
    ];
    for (const v of variants)
      expect(Buffer.from(commitment(salt, v)).toString("hex")).not.toBe(ref);
    const otherSalt = salt.slice();
    otherSalt[0] = 1;
    expect(Buffer.from(commitment(otherSalt, value)).toString("hex")).not.toBe(ref);
  });

  it("ignores members beyond the four, so they cannot change what was committed", () => {
    const extra = { ...value, note: "not part of it" };
    expect(Buffer.from(commitment(salt, extra)).toString("hex")).toBe(expected);
  });

  it("refuses short salts, bad versions and values that are not JSON", () => {
    expect(() => commitment(new Uint8Array(15), value)).toThrow(TypeError);
    expect(() => commitment("salt" as never, value)).toThrow(TypeError);
    expect(() => commitment(salt, { ...value, version: -1 })).toThrow(TypeError);
    expect(() => commitment(salt, { ...value, version: 1.5 })).toThrow(TypeError);
    expect(() => commitment(salt, { ...value, customer: 42 as never })).toThrow(TypeError);
    expect(() => commitment(salt, { ...value, value: undefined as never })).toThrow(TypeError);
    expect(() => commitment(salt, { ...value, value: new Date(0) as never })).toThrow(TypeError);
  });
});

describe("attachmentCommitment", () => {
  it("is base64url(SHA-256(salt ‖ JCS(values)))", () => {
    const values = { name: "安娜", email: "ana@example.com" };
    const byHand = createHash("sha256")
      .update(salt)
      .update('{"email":"ana@example.com","name":"安娜"}')
      .digest("base64url");
    expect(attachmentCommitment(salt, values)).toBe(byHand);
    expect(attachmentCommitment(salt, { ...values, name: "Ana" })).not.toBe(byHand);
    expect(attachmentCommitment(new Uint8Array(16).fill(9), values)).not.toBe(byHand);
  });

  it("refuses a short salt", () => {
    expect(() => attachmentCommitment(new Uint8Array(15), {})).toThrow(/16 bytes/);
  });
});
