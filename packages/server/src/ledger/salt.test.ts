import { describe, expect, it } from "vitest";
import { newSalt, random } from "./salt.js";

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

describe("random", () => {
  it("gives buffers of their own, of the size asked, never overlapping, across refills", () => {
    const seen = new Set<string>();
    const held: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const b = random(12);
      expect(b).toHaveLength(12);
      seen.add(b.toString("hex"));
      held.push(b);
    }
    expect(seen.size).toBe(5000);
    // Later draws and refills do not change what was handed out.
    const before = held.map((b) => b.toString("hex"));
    for (let i = 0; i < 3000; i++) random(32);
    expect(held.map((b) => b.toString("hex"))).toEqual(before);
    expect(random(1000)).toHaveLength(1000);
  });
});
