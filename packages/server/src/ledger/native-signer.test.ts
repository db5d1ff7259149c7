import { randomBytes } from "node:crypto";
import { generateNoteKeys, openNote, signNote } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { nativeNoteSigner } from "./native-signer.js";

describe("native checkpoint signer", () => {
  it("signs exactly what the library signs, and the note verifies", () => {
    const { signerKey: key, verifierKey } = generateNoteKeys("patron.test/native");
    const native = nativeNoteSigner(key);
    for (let i = 0; i < 20; i++) {
      const text = `patron.test/native\n${i}\n${randomBytes(32).toString("base64")}\n`;
      const signed = signNote(text, native);
      expect(signed).toBe(signNote(text, key));
      expect(openNote(signed, [verifierKey]).text).toBe(text);
    }
  });
});
