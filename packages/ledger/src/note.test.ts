import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NoteError } from "./errors.js";
import {
  formatVerifierKey,
  generateNoteKeys,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierKeyFromSigner,
} from "./note.js";

interface GoVector {
  verifierKey: string;
  signerKey: string;
  text: string;
  note: string;
}

const vector = JSON.parse(
  readFileSync(
    fileURLToPath(new URL("../conformance/note/go-sumdb-note.json", import.meta.url)),
    "utf8",
  ),
) as GoVector;

function noteError(fn: () => unknown): NoteError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NoteError);
    return err as NoteError;
  }
  throw new Error("expected a NoteError");
}

describe("Go sumdb note vector", () => {
  it("signing the text with the signer key gives the note byte for byte", () => {
    expect(signNote(vector.text, vector.signerKey)).toBe(vector.note);
  });

  it("opening the note gives the text and the signer", () => {
    const opened = openNote(vector.note, [vector.verifierKey]);
    expect(opened.text).toBe(vector.text);
    expect(opened.signatures).toEqual([{ name: "PeterNeumann", keyId: 0xc74f20a3 }]);
  });

  it("keys parse to the same name, id and public key", () => {
    const s = parseSignerKey(vector.signerKey);
    const v = parseVerifierKey(vector.verifierKey);
    expect(s.name).toBe("PeterNeumann");
    expect(s.keyId).toBe(0xc74f20a3);
    expect(v.keyId).toBe(0xc74f20a3);
    expect(s.publicKey).toEqual(v.publicKey);
    expect(noteKeyId("PeterNeumann", v.publicKey)).toBe(0xc74f20a3);
    expect(verifierKeyFromSigner(vector.signerKey)).toBe(vector.verifierKey);
    expect(formatVerifierKey(v.name, v.publicKey)).toBe(vector.verifierKey);
  });

  it("any change to the text fails", () => {
    const sep = vector.note.lastIndexOf("\n\n");
    for (let i = 0; i < sep; i++) {
      const c = vector.note[i] === "x" ? "y" : "x";
      const changed = vector.note.slice(0, i) + c + vector.note.slice(i + 1);
      expect(() => openNote(changed, [vector.verifierKey]), `text position ${i}`).toThrow(
        NoteError,
      );
    }
    const dropped = vector.note.replace("problem,\n", "problem\n");
    expect(noteError(() => openNote(dropped, [vector.verifierKey])).code).toBe("bad_signature");
  });

  it("any change to the signature fails", () => {
    const start = vector.note.lastIndexOf(" ") + 1;
    const end = vector.note.length - 1;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (let i = start; i < end; i++) {
      const ch = vector.note[i] as string;
      for (const repl of [
        alphabet[(alphabet.indexOf(ch) + 1) % 64],
        alphabet[(alphabet.indexOf(ch) + 17) % 64],
      ]) {
        const changed = vector.note.slice(0, i) + repl + vector.note.slice(i + 1);
        expect(() => openNote(changed, [vector.verifierKey]), `signature position ${i}`).toThrow(
          NoteError,
        );
      }
    }
  });
});

describe("keys", () => {
  it("generated keys round-trip and sign notes that open", () => {
    const { signerKey, verifierKey } = generateNoteKeys("log.example/ledger");
    expect(signerKey).toMatch(
      /^PRIVATE\+KEY\+log\.example\/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/,
    );
    expect(verifierKey).toMatch(/^log\.example\/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(verifierKeyFromSigner(signerKey)).toBe(verifierKey);
    const s = parseSignerKey(signerKey);
    expect(s.secretKey).toHaveLength(32);
    expect(s.publicKey).toEqual(parseVerifierKey(verifierKey).publicKey);
    const note = signNote("hello\n", signerKey);
    expect(openNote(note, [verifierKey]).text).toBe("hello\n");
    expect(generateNoteKeys("log.example/ledger").signerKey).not.toBe(signerKey);
  });

  it("reject invalid names", () => {
    for (const name of [
      "",
      "a+b",
      "a b",
      "a\tb",
      "a\u00a0b",
      "a\u3000b",
      "a\u2028b",
      "a\u0085b",
      "a\u0001b",
      "\ud800",
    ]) {
      expect(noteError(() => generateNoteKeys(name)).code, JSON.stringify(name)).toBe(
        "invalid_key",
      );
    }
    // Non-space Unicode is fine.
    expect(parseVerifierKey(generateNoteKeys("løg.example/é").verifierKey).name).toBe(
      "løg.example/é",
    );
  });

  it("reject malformed verifier keys", () => {
    const [name, id, body] = vector.verifierKey.split("+") as [string, string, string];
    const bad = [
      "",
      name,
      `${name}+${id}`,
      `${name}+${id}+`,
      `${name}+${id.slice(1)}+${body}`,
      `${name}+0${id}+${body}`,
      `${name}+zzzzzzzz+${body}`,
      `${name}+c74f20a4+${body}`,
      `Other+${id}+${body}`,
      `${name}+${id}+${body.slice(0, -1)}`,
      `${name}+${id}+B${body.slice(1)}`, // algorithm 5
      `${name}+${id}+${body}AAAA`, // 36-byte key
      `a b+${id}+${body}`,
    ];
    for (const k of bad) expect(noteError(() => parseVerifierKey(k)).code, k).toBe("invalid_key");
    // Go's ParseUint accepts upper-case hex in key ids.
    expect(parseVerifierKey(`${name}+${id.toUpperCase()}+${body}`).keyId).toBe(0xc74f20a3);
  });

  it("reject malformed signer keys without echoing the secret", () => {
    const body = vector.signerKey.split("+").slice(4).join("+");
    const bad = [
      vector.signerKey.replace("PRIVATE+KEY+", ""),
      vector.signerKey.replace("PRIVATE", "PUBLIC"),
      vector.signerKey.replace("c74f20a3", "c74f20a4"),
      vector.signerKey.replace("PeterNeumann", "PeterNeuman"),
      `${vector.signerKey}A`,
      vector.verifierKey,
    ];
    for (const k of bad) {
      const err = noteError(() => parseSignerKey(k));
      expect(err.code).toBe("invalid_key");
      expect(err.message).not.toContain(body);
    }
  });
});

describe("signNote", () => {
  const { signerKey } = generateNoteKeys("signer");

  it("requires a final newline and note-safe text", () => {
    for (const text of [
      "",
      "no newline",
      "tab\there\n",
      "cr\r\n",
      "nul\u0000\n",
      "lone \ud800\n",
    ]) {
      expect(noteError(() => signNote(text, signerKey)).code, JSON.stringify(text)).toBe(
        "malformed",
      );
    }
  });

  it("signs any valid text, including blank lines and non-ASCII", () => {
    const { verifierKey } = generateNoteKeys("other");
    const v = verifierKeyFromSigner(signerKey);
    for (const text of [
      "\n",
      "a\n\nb\n",
      "a\n\n\n",
      "— looks like a signature\n",
      "ünïcødé 😀\n",
    ]) {
      const note = signNote(text, signerKey);
      expect(openNote(note, [v, verifierKey]).text).toBe(text);
    }
  });
});

describe("openNote", () => {
  const a = generateNoteKeys("a.example");
  const b = generateNoteKeys("b.example");
  const text = "some text\nmore text\n";
  const noteA = signNote(text, a.signerKey);
  const sigLineA = noteA.slice(noteA.lastIndexOf("\n\n") + 2);
  const sigLineB = signNote(text, b.signerKey).slice(noteA.lastIndexOf("\n\n") + 2);
  const both = noteA + sigLineB;

  it("verifies each known signer and ignores unknown ones", () => {
    expect(openNote(both, [a.verifierKey]).signatures.map((s) => s.name)).toEqual(["a.example"]);
    expect(openNote(both, [b.verifierKey]).signatures.map((s) => s.name)).toEqual(["b.example"]);
    expect(openNote(both, [b.verifierKey, a.verifierKey]).signatures.map((s) => s.name)).toEqual([
      "a.example",
      "b.example",
    ]);
    expect(openNote(both, [parseVerifierKey(a.verifierKey)]).text).toBe(text);
  });

  it("fails when no known key signed", () => {
    const c = generateNoteKeys("c.example");
    const err = noteError(() => openNote(both, [c.verifierKey]));
    expect(err.code).toBe("unknown_key");
    expect(err.message).toContain("a.example+");
    expect(noteError(() => openNote(both, [])).code).toBe("unknown_key");
    // Same name, different key: a different key id, so still unknown.
    const a2 = generateNoteKeys("a.example");
    expect(noteError(() => openNote(noteA, [a2.verifierKey])).code).toBe("unknown_key");
  });

  it("fails on a bad signature by a known key, even next to a good one", () => {
    const forged = signNote("other text\n", a.signerKey).slice("other text\n\n".length);
    expect(noteError(() => openNote(`${text}\n${forged}`, [a.verifierKey])).code).toBe(
      "bad_signature",
    );
    expect(
      noteError(() => openNote(`${text}\n${forged}${sigLineB}`, [a.verifierKey, b.verifierKey]))
        .code,
    ).toBe("bad_signature");
  });

  it("skips repeated signatures by one key, like Go", () => {
    const twice = noteA + sigLineA;
    expect(openNote(twice, [a.verifierKey]).signatures).toHaveLength(1);
  });

  it("rejects malformed notes", () => {
    const bad = [
      text,
      `${text}\n`,
      noteA.slice(0, -1),
      noteA.replace("\u2014", "\u2013"),
      noteA.replace("\u2014 ", "\u2014"),
      noteA.replace("\u2014 a.example ", "\u2014 a.example  "),
      noteA.replace(" a.example ", " a example "),
      noteA.replace(/ [^ ]+\n$/, " \n"),
      noteA.replace(/ [^ ]+\n$/, " AAAAAA==\n"),
      noteA.replace(/ [^ ]+\n$/, " not*base64\n"),
      `${noteA}\n`,
      `${noteA}x\n`,
      noteA.replace("some", "so\rme"),
      noteA.replace("some", "so\u0000me"),
      noteA.replace("some", "so\ud800me"),
      noteA.replace(/\n/g, "\r\n"),
      `${text}\n${sigLineA.repeat(101)}`,
    ];
    for (const n of bad)
      expect(noteError(() => openNote(n, [a.verifierKey])).code, JSON.stringify(n)).toBe(
        "malformed",
      );
    expect(openNote(`${text}\n${sigLineA.repeat(100)}`, [a.verifierKey]).signatures).toHaveLength(
      1,
    );
  });

  it("rejects ambiguous verifier lists but tolerates duplicates", () => {
    expect(openNote(noteA, [a.verifierKey, a.verifierKey]).signatures).toHaveLength(1);
    const v = parseVerifierKey(a.verifierKey);
    const impostor = { ...v, publicKey: parseVerifierKey(b.verifierKey).publicKey };
    expect(noteError(() => openNote(noteA, [v, impostor])).code).toBe("ambiguous_key");
    expect(noteError(() => openNote(noteA, ["not a key"])).code).toBe("invalid_key");
  });
});
