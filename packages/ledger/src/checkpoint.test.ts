import { describe, expect, it } from "vitest";
import {
  type Checkpoint,
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from "./checkpoint.js";
import { CheckpointError } from "./errors.js";
import { EMPTY_ROOT, sha256 } from "./hash.js";
import { generateNoteKeys, signNote } from "./note.js";

const ORIGIN = "patron.example/ledger";
const log = generateNoteKeys(ORIGIN);
const root = sha256(new TextEncoder().encode("root"));
const cp: Checkpoint = { origin: ORIGIN, size: 20852163n, root, extensions: [] };

function checkpointError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    return err as CheckpointError;
  }
  throw new Error("expected a CheckpointError");
}

describe("checkpoint text", () => {
  it("formats as origin, size, base64 root, extensions", () => {
    const rootB64 = btoa(String.fromCharCode(...root));
    expect(formatCheckpoint(cp)).toBe(`${ORIGIN}\n20852163\n${rootB64}\n`);
    expect(formatCheckpoint({ ...cp, extensions: ["ext one", "ext two"] })).toBe(
      `${ORIGIN}\n20852163\n${rootB64}\next one\next two\n`,
    );
  });

  it("round-trips, including the extreme sizes", () => {
    for (const size of [0n, 1n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const c = { ...cp, size, extensions: ["x"] };
      expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
    }
    expect(parseCheckpoint(formatCheckpoint({ ...cp, size: 0n, root: EMPTY_ROOT }))).toEqual({
      ...cp,
      size: 0n,
      root: EMPTY_ROOT,
    });
  });

  it("parses strictly", () => {
    const rootB64 = btoa(String.fromCharCode(...root));
    const bad = [
      "",
      `${ORIGIN}\n5\n${rootB64}`,
      `${ORIGIN}\n5\n`,
      `\n5\n${rootB64}\n`,
      `${ORIGIN}\n05\n${rootB64}\n`,
      `${ORIGIN}\n00\n${rootB64}\n`,
      `${ORIGIN}\n+5\n${rootB64}\n`,
      `${ORIGIN}\n-5\n${rootB64}\n`,
      `${ORIGIN}\n5.0\n${rootB64}\n`,
      `${ORIGIN}\n1e3\n${rootB64}\n`,
      `${ORIGIN}\n 5\n${rootB64}\n`,
      `${ORIGIN}\n0x5\n${rootB64}\n`,
      `${ORIGIN}\n18446744073709551616\n${rootB64}\n`,
      `${ORIGIN}\n5\n${rootB64.slice(0, -4)}\n`,
      `${ORIGIN}\n5\n${btoa("x".repeat(33))}\n`,
      `${ORIGIN}\n5\n${rootB64.replace("=", "")}\n`,
      `${ORIGIN}\n5\n${rootB64}\n\n`,
      `${ORIGIN}\n5\n${rootB64}\next\n\n`,
      `${ORIGIN}\r\n5\r\n${rootB64}\r\n`,
    ];
    for (const t of bad)
      expect(checkpointError(() => parseCheckpoint(t)).code, JSON.stringify(t)).toBe("malformed");
    expect(parseCheckpoint(`${ORIGIN}\n18446744073709551615\n${rootB64}\n`).size).toBe(
      2n ** 64n - 1n,
    );
  });

  it("refuses to format what it could not parse", () => {
    const bad: Checkpoint[] = [
      { ...cp, origin: "" },
      { ...cp, origin: "a\nb" },
      { ...cp, size: -1n },
      { ...cp, size: 2n ** 64n },
      { ...cp, size: 5 as unknown as bigint },
      { ...cp, root: root.subarray(1) },
      { ...cp, extensions: [""] },
      { ...cp, extensions: ["a\nb"] },
    ];
    for (const c of bad) expect(checkpointError(() => formatCheckpoint(c)).code).toBe("malformed");
  });
});

describe("signed checkpoints", () => {
  const note = signCheckpoint(cp, log.signerKey);

  it("verify with the log's key and pinned origin", () => {
    expect(note.startsWith(formatCheckpoint(cp))).toBe(true);
    expect(note).toContain(`\n\n\u2014 ${ORIGIN} `);
    expect(verifyCheckpoint(note, log.verifierKey)).toEqual(cp);
    expect(verifyCheckpoint(note, log.verifierKey, { origin: ORIGIN })).toEqual(cp);
  });

  it("reject a checkpoint from another log", () => {
    // Same key, other origin: only the origin pin catches it.
    const elsewhere = signCheckpoint({ ...cp, origin: "other.example/log" }, log.signerKey);
    const err = checkpointError(() =>
      verifyCheckpoint(elsewhere, log.verifierKey, { origin: ORIGIN }),
    );
    expect(err.code).toBe("origin_mismatch");
    expect(err.message).toContain("other.example/log");
    // Another log's own key: not signed by ours.
    const other = generateNoteKeys("other.example/log");
    const foreign = signCheckpoint({ ...cp, origin: "other.example/log" }, other.signerKey);
    expect(
      checkpointError(() => verifyCheckpoint(foreign, log.verifierKey, { origin: ORIGIN })).code,
    ).toBe("unknown_key");
  });

  it("reject the wrong key and tampered contents", () => {
    const wrong = generateNoteKeys(ORIGIN);
    const e1 = checkpointError(() => verifyCheckpoint(note, wrong.verifierKey));
    expect(e1.code).toBe("unknown_key");
    expect(e1.message).toMatch(/^checkpoint signature invalid/);
    const bigger = note.replace("\n20852163\n", "\n20852164\n");
    const e2 = checkpointError(() => verifyCheckpoint(bigger, log.verifierKey));
    expect(e2.code).toBe("bad_signature");
    expect(e2.message).toMatch(/^checkpoint signature invalid/);
    expect(checkpointError(() => verifyCheckpoint(note, "garbage")).code).toBe("invalid_key");
  });

  it("reject a validly signed note that is not a checkpoint", () => {
    const notCp = signNote("hello\nworld\n", log.signerKey);
    expect(checkpointError(() => verifyCheckpoint(notCp, log.verifierKey)).code).toBe("malformed");
    expect(checkpointError(() => verifyCheckpoint("nonsense", log.verifierKey)).code).toBe(
      "malformed",
    );
  });

  it("accept witness cosignatures alongside the log's", () => {
    const witness = generateNoteKeys("witness.example/w1");
    const cosig = signCheckpoint(cp, witness.signerKey).slice(formatCheckpoint(cp).length + 1);
    const cosigned = note + cosig;
    expect(verifyCheckpoint(cosigned, log.verifierKey, { origin: ORIGIN })).toEqual(cp);
    expect(verifyCheckpoint(cosigned, witness.verifierKey)).toEqual(cp);
  });
});
