import { describe, expect, it } from "vitest";
import { type Entry, encodeEntry } from "./canonical.js";
import { signCheckpoint } from "./checkpoint.js";
import { encodeBase64 } from "./encoding.js";
import { ReceiptError } from "./errors.js";
import { hashLeaf } from "./hash.js";
import { inclusionProof, rootFromLeafHashes } from "./merkle.js";
import { generateNoteKeys } from "./note.js";
import { formatReceipt, parseReceipt, type Receipt, verifyReceipt } from "./receipt.js";

const ORIGIN = "patron.example/ledger";
const log = generateNoteKeys(ORIGIN);

const entries: Entry[] = Array.from({ length: 37 }, (_, i) => ({
  v: 1,
  type: "loyalty.points.earned",
  actor: `merchant:${i % 5}`,
  time: `2025-03-04T05:06:${String(i).padStart(2, "0")}Z`,
  payload: { customer: `c-${i}`, points: i * 10 },
}));
const data = entries.map(encodeEntry);
const leafHashes = data.map(hashLeaf);
const size = BigInt(entries.length);
const note = signCheckpoint(
  { origin: ORIGIN, size, root: rootFromLeafHashes(leafHashes), extensions: [] },
  log.signerKey,
);

/** A receipt for entry i; `null` extra leaves the extra line out. */
function receiptFor(i: number, extra: Uint8Array | null = data[i] ?? null): Receipt {
  const r: Receipt = { index: BigInt(i), proof: inclusionProof(leafHashes, i), checkpoint: note };
  return extra === null ? r : { ...r, extra };
}

function receiptError(fn: () => unknown): ReceiptError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ReceiptError);
    return err as ReceiptError;
  }
  throw new Error("expected a ReceiptError");
}

describe("receipt format", () => {
  it("follows c2sp.org/tlog-proof@v1", () => {
    const r = receiptFor(5);
    const text = formatReceipt(r);
    const lines = text.split("\n");
    expect(lines[0]).toBe("c2sp.org/tlog-proof@v1");
    expect(lines[1]).toBe(`extra ${encodeBase64(data[5] as Uint8Array)}`);
    expect(lines[2]).toBe("index 5");
    expect(lines.slice(3, 3 + r.proof.length)).toEqual(r.proof.map(encodeBase64));
    expect(lines[3 + r.proof.length]).toBe("");
    expect(text.endsWith(`\n\n${note}`)).toBe(true);
  });

  it("round-trips with and without extra data", () => {
    for (const i of [0, 1, 17, 36]) {
      expect(parseReceipt(formatReceipt(receiptFor(i)))).toEqual(receiptFor(i));
      const bare = receiptFor(i, null);
      expect(parseReceipt(formatReceipt(bare))).toEqual(bare);
    }
    const empty = { index: 0n, proof: [], checkpoint: note, extra: new Uint8Array(0) };
    expect(parseReceipt(formatReceipt(empty))).toEqual(empty);
  });

  it("rejects malformed text", () => {
    const good = formatReceipt(receiptFor(5));
    const [header, extra, index, p0] = good.split("\n") as [string, string, string, string];
    const bad = [
      "",
      good.replace(header, "c2sp.org/tlog-proof@v2"),
      good.replace(`${header}\n`, ""),
      good.replace(`${extra}\n`, "").replace(`${index}\n`, ""),
      good.replace(index, "index 05"),
      good.replace(index, "index -5"),
      good.replace(index, "index 5 "),
      good.replace(index, "index 18446744073709551616"),
      good.replace(index, "Index 5"),
      good.replace(`${extra}\n${index}`, `${index}\n${extra}`),
      good.replace(extra, "extra not*base64"),
      good.replace(extra, `${extra}=`),
      good.replace(p0, p0.slice(4)),
      good.replace(p0, `${p0} `),
      good.replace(p0, "AAAA"),
      good.replace("\n\n", "\n"),
      good.replace(/\n\n[\s\S]*$/, "\n\n"),
      good.slice(0, -1),
      good.replace(/\n/g, "\r\n"),
      `${header}\nindex 0\n${`${p0}\n`.repeat(65)}\n${note}`,
    ];
    for (const t of bad)
      expect(receiptError(() => parseReceipt(t)).code, JSON.stringify(t.slice(0, 200))).toBe(
        "malformed",
      );
  });

  it("refuses to format invalid receipts", () => {
    const r = receiptFor(3);
    const bad = [
      { ...r, index: -1n },
      { ...r, index: 3 as unknown as bigint },
      { ...r, proof: [new Uint8Array(31)] },
      { ...r, checkpoint: note.slice(0, -1) },
      { ...r, extra: "x" as unknown as Uint8Array },
    ];
    for (const b of bad) expect(receiptError(() => formatReceipt(b)).code).toBe("malformed");
  });
});

describe("verifyReceipt", () => {
  it("verifies every entry of the log and returns it", () => {
    for (let i = 0; i < entries.length; i++) {
      const v = verifyReceipt(formatReceipt(receiptFor(i)), log.verifierKey, { origin: ORIGIN });
      expect(v.index).toBe(BigInt(i));
      expect(v.checkpoint.size).toBe(size);
      expect(v.checkpoint.origin).toBe(ORIGIN);
      expect(v.leafHash).toEqual(leafHashes[i]);
      expect(v.entry).toEqual(entries[i]);
    }
  });

  it("checks caller-supplied leaf data, with or without extra", () => {
    const withExtra = formatReceipt(receiptFor(9));
    const without = formatReceipt(receiptFor(9, null));
    expect(verifyReceipt(withExtra, log.verifierKey, { leafData: data[9] }).entry).toEqual(
      entries[9],
    );
    expect(verifyReceipt(without, log.verifierKey, { leafData: data[9] }).entry).toEqual(
      entries[9],
    );
    expect(
      receiptError(() => verifyReceipt(without, log.verifierKey, { leafData: data[8] })).code,
    ).toBe("proof_mismatch");
    expect(
      receiptError(() => verifyReceipt(withExtra, log.verifierKey, { leafData: data[8] })).code,
    ).toBe("extra_mismatch");
    expect(receiptError(() => verifyReceipt(without, log.verifierKey)).code).toBe("malformed");
  });

  it("proves opaque data that is not an entry, without returning an entry", () => {
    const blobs = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      new TextEncoder().encode('{"v":1}'),
    ];
    const hashes = blobs.map(hashLeaf);
    const n = signCheckpoint(
      { origin: ORIGIN, size: 3n, root: rootFromLeafHashes(hashes), extensions: [] },
      log.signerKey,
    );
    for (let i = 0; i < 3; i++) {
      const text = formatReceipt({
        index: BigInt(i),
        proof: inclusionProof(hashes, i),
        checkpoint: n,
        extra: blobs[i],
      });
      const v = verifyReceipt(text, log.verifierKey);
      expect(v.leafHash).toEqual(hashes[i]);
      expect(v.entry).toBeUndefined();
    }
  });

  it("rejects a flipped bit anywhere in the proof hashes", () => {
    // One bit per byte of every hash (each bit position mod 8 used alike): every bit of every
    // proof is flipped against verifyInclusion itself in merkle.test.ts; here each case also
    // costs an Ed25519 verification of the checkpoint.
    const r = receiptFor(21);
    expect(r.proof.length).toBeGreaterThan(4);
    for (let h = 0; h < r.proof.length; h++) {
      for (let byte = 0; byte < 32; byte++) {
        const proof = r.proof.map((p) => p.slice());
        const target = proof[h] as Uint8Array;
        target[byte] = (target[byte] as number) ^ (1 << ((byte + h) % 8));
        const err = receiptError(() =>
          verifyReceipt(formatReceipt({ ...r, proof }), log.verifierKey),
        );
        expect(err.code).toBe("proof_mismatch");
        expect(err.message).toBe("inclusion proof does not match checkpoint root");
      }
    }
  });

  it("rejects the wrong key, another log and a tampered checkpoint", () => {
    const text = formatReceipt(receiptFor(4));
    const wrong = generateNoteKeys(ORIGIN);
    const e1 = receiptError(() => verifyReceipt(text, wrong.verifierKey));
    expect(e1.code).toBe("unknown_key");
    expect(e1.message).toMatch(/^checkpoint signature invalid/);

    const otherLog = generateNoteKeys("other.example/log");
    const otherNote = signCheckpoint(
      { origin: "other.example/log", size, root: rootFromLeafHashes(leafHashes), extensions: [] },
      otherLog.signerKey,
    );
    const foreign = formatReceipt({ ...receiptFor(4), checkpoint: otherNote });
    expect(
      receiptError(() => verifyReceipt(foreign, log.verifierKey, { origin: ORIGIN })).code,
    ).toBe("unknown_key");
    expect(
      receiptError(() => verifyReceipt(foreign, otherLog.verifierKey, { origin: ORIGIN })).code,
    ).toBe("origin_mismatch");
    // Same key reused under another origin: only the origin pin tells them apart.
    const sameKeyNote = signCheckpoint(
      {
        origin: "staging.example/ledger",
        size,
        root: rootFromLeafHashes(leafHashes),
        extensions: [],
      },
      log.signerKey,
    );
    const staging = formatReceipt({ ...receiptFor(4), checkpoint: sameKeyNote });
    expect(
      receiptError(() => verifyReceipt(staging, log.verifierKey, { origin: ORIGIN })).code,
    ).toBe("origin_mismatch");

    const tampered = text.replace(`\n${size}\n`, `\n${size + 1n}\n`);
    const e2 = receiptError(() => verifyReceipt(tampered, log.verifierKey));
    expect(e2.code).toBe("bad_signature");
    expect(e2.message).toMatch(/^checkpoint signature invalid/);
  });

  it("rejects tampered extra data", () => {
    const r = receiptFor(12);
    const other = { ...entries[12], payload: { customer: "c-12", points: 1_000_000 } } as Entry;
    for (const extra of [encodeEntry(other), data[13] as Uint8Array, new Uint8Array([1])]) {
      const err = receiptError(() =>
        verifyReceipt(formatReceipt({ ...r, extra }), log.verifierKey),
      );
      expect(err.code).toBe("proof_mismatch");
    }
  });

  it("rejects an index out of range or not matching the proof", () => {
    const r = receiptFor(36);
    const out = receiptError(() =>
      verifyReceipt(formatReceipt({ ...r, index: size }), log.verifierKey),
    );
    expect(out.code).toBe("out_of_range");
    const far = receiptError(() =>
      verifyReceipt(formatReceipt({ ...r, index: 2n ** 64n - 1n }), log.verifierKey),
    );
    expect(far.code).toBe("out_of_range");
    const moved = receiptError(() =>
      verifyReceipt(formatReceipt({ ...r, index: 35n }), log.verifierKey),
    );
    expect(moved.code).toBe("proof_mismatch");
  });

  it("accepts a checkpoint carrying witness cosignatures", () => {
    const witness = generateNoteKeys("witness.example/w1");
    const cosig = signCheckpoint(
      { origin: ORIGIN, size, root: rootFromLeafHashes(leafHashes), extensions: [] },
      witness.signerKey,
    );
    const cosigned = note + cosig.slice(cosig.lastIndexOf("\n\n") + 2);
    const text = formatReceipt({ ...receiptFor(2), checkpoint: cosigned });
    expect(verifyReceipt(text, log.verifierKey, { origin: ORIGIN }).entry).toEqual(entries[2]);
  });

  it("rejects malformed receipts with ReceiptError", () => {
    expect(receiptError(() => verifyReceipt("garbage", log.verifierKey)).code).toBe("malformed");
    const text = formatReceipt(receiptFor(1));
    expect(receiptError(() => verifyReceipt(text, "not a key")).code).toBe("invalid_key");
  });
});
