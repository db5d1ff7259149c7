import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { safeNext } from "../pages/SignInPage.js";
import { pointOf } from "./webauthn.js";

describe("a passkey's public key", () => {
  it("is the P-256 point at the end of the browser's SubjectPublicKeyInfo", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
    const jwk = publicKey.export({ format: "jwk" });
    const point = pointOf(spki);
    expect(point.length).toBe(65);
    expect(point[0]).toBe(0x04);
    expect(Buffer.from(point.slice(1, 33)).toString("base64url")).toBe(jwk.x);
    expect(Buffer.from(point.slice(33)).toString("base64url")).toBe(jwk.y);
  });

  it("is refused when the key is not an uncompressed point", () => {
    expect(() => pointOf(new Uint8Array(64))).toThrow();
    expect(() => pointOf(new Uint8Array(91))).toThrow();
  });
});

describe("where sign-in goes next", () => {
  it("stays inside the console", () => {
    expect(safeNext("/customers/c_1?x=1")).toBe("/customers/c_1?x=1");
    for (const bad of [null, "", "https://evil.example/", "//evil.example/", "/\\\\evil", "team"]) {
      expect(safeNext(bad)).toBe("/customers");
    }
  });
});
