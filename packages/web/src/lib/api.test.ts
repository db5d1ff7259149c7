import { describe, expect, it } from "vitest";
import { ApiError, isWithheld, readEntryView } from "./api.js";

// The node is not trusted: an answer of the wrong shape is refused before a page reads it.

const hash = "ab".repeat(32);

describe("readEntryView", () => {
  it("reads a sealed entry the caller may not read as its index and leaf hash only", () => {
    const v = readEntryView({ index: 1, leafHash: hash, sealed: true });
    expect(v).toEqual({ index: 1, leafHash: hash, sealed: true });
    expect(isWithheld(v)).toBe(true);
  });

  it("reads a full entry, sealed or not; a node without the flag sent only public ones", () => {
    const full = {
      index: 2,
      type: "attestation.created",
      actor: "merchant:m_a/key:k_b",
      time: "2026-01-02T03:04:05.000Z",
      leafHash: hash,
      canonical: "e30=",
      entry: {},
    };
    const sealed = readEntryView({ ...full, sealed: true });
    expect(isWithheld(sealed)).toBe(false);
    expect(sealed.sealed).toBe(true);
    expect(readEntryView(full).sealed).toBe(false);
  });

  it("refuses an entry with no content that does not say it is sealed, or a mistyped one", () => {
    for (const bad of [
      null,
      [],
      { index: 1, leafHash: hash },
      { index: -1, leafHash: hash, sealed: true },
      { index: 1, sealed: true },
      { index: 1, leafHash: hash, canonical: "e30=", sealed: true },
      { index: 1, leafHash: hash, canonical: "e30=", type: 1, actor: "a", time: "t" },
      {
        index: 1,
        leafHash: hash,
        canonical: "e30=",
        type: "t",
        actor: "a",
        time: "t",
        sealed: "no",
      },
    ]) {
      expect(() => readEntryView(bad), JSON.stringify(bad)).toThrow(ApiError);
    }
  });
});
