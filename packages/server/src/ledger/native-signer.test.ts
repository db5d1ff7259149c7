import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
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
      // The native signature itself, byte for byte.
      const message = new TextEncoder().encode(text);
      expect(Buffer.from(native.sign?.(message) ?? [])).toEqual(
        Buffer.from(ed25519.sign(message, native.secretKey)),
      );
    }
  });
});
