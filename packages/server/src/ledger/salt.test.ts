import { describe, expect, it } from "vitest";
import { newSalt } from "./salt.js";

describe("newSalt", () => {
  it("gives 16 random bytes in base64url, never twice, across pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const s = newSalt();
      expect(s).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(s, "base64url")).toHaveLength(16);
      seen.add(s);
    }
    expect(seen.size).toBe(3000);
  });
});
