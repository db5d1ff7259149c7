import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { generateNoteKeys, openNote, signNote } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { nativeNoteSigner, nativeNoteVerifier } from "./native-signer.js";

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

  it("verifies natively what the library verifies, and refuses what it refuses", () => {
    const { signerKey, verifierKey } = generateNoteKeys("patron.test/native");
    const other = generateNoteKeys("patron.test/native");
    const native = nativeNoteVerifier(verifierKey);
    const text = "patron.test/native\n7\nroot\n";
    const signed = signNote(text, signerKey);
    expect(openNote(signed, [native]).text).toBe(text);
    const outcome = (note: string, key: string | typeof native) => {
      try {
        return openNote(note, [key]).text;
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    // Every byte of the signature line flipped in turn, and the text changed: both refuse alike.
    const line = signed.lastIndexOf("— ");
    for (let i = line + 2; i < signed.length - 1; i += 3) {
      const c = signed[i] === "A" ? "B" : "A";
      const bad = signed.slice(0, i) + c + signed.slice(i + 1);
      expect(outcome(bad, native)).toBe(outcome(bad, verifierKey));
    }
    const changed = signed.replace("7", "8");
    expect(outcome(changed, native)).toBe("bad_signature");
    expect(outcome(changed, verifierKey)).toBe("bad_signature");
    // Signed by another key of the same name: not this log's.
    const forged = signNote(text, other.signerKey);
    expect(outcome(forged, native)).toBe(outcome(forged, verifierKey));
  });
});
