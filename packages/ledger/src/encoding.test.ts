import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeBase64Url, encodeBase64Url, tryDecodeBase64Url } from "./encoding.js";

describe("base64url without padding", () => {
  it("matches Node's encoder and round-trips every length", () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const s = encodeBase64Url(bytes);
      expect(s).toBe(Buffer.from(bytes).toString("base64url"));
      expect(decodeBase64Url(s)).toEqual(bytes);
    }
    expect(encodeBase64Url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
  });

  it("accepts exactly one spelling of each byte string", () => {
    for (const s of ["AAA=", "AA==", "+/8", "AA A", "A", "AAAAA", "AB", "AAB", "\u00e9", 7]) {
      expect(tryDecodeBase64Url(s as string), String(s)).toBeUndefined();
    }
    expect(() => decodeBase64Url("AB")).toThrow(TypeError); // non-zero unused bits
    expect(decodeBase64Url("")).toEqual(new Uint8Array(0));
  });
});
