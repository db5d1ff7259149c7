/**
 * Mirrors over a log of public and sealed entries (decision 6), on every database backend: a
 * mirror without credentials verifies the whole tree from the sealed entries' leaf hashes and
 * never holds their content; one with a merchant's auditor key copies and checks that
 * merchant's sealed entries whole, and no other merchant's.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeEntry, isSealed } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mirrorCommand } from "../src/mirror/cli.js";
import { type MirrorError, runMirror } from "../src/mirror/mirror.js";
import { type PatronNode, startNode } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { captured, copyText, mirrored, servedEntries } from "./mirror-helpers.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "patron-mirror-sealed-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(backends)("patron mirror over sealed entries ($name)", (backend) => {
  let node: PatronNode;
  let cleanup: () => void;
  /** Merchant A (the node's first merchant) and B, each with an owner and an auditor key. */
  const A = { id: "", owner: "", auditor: "" };
  const B = { id: "", owner: "", auditor: "" };
  /** Values that only a sealed entry of A (or of B) holds. */
  const secretsOf = { A: [] as string[], B: [] as string[] };
  /** Values public entries hold. */
  const published: string[] = [];

  async function call(key: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok)
      throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }

  async function attest(m: typeof A, sealed: boolean) {
    const digest = randomBytes(32).toString("hex");
    await call(m.owner, "POST", "/v1/attestations", { digest, ...(sealed ? { sealed } : {}) });
    if (!sealed) published.push(digest);
    else (m === A ? secretsOf.A : secretsOf.B).push(digest);
  }

  beforeAll(async () => {
    const c = backend.config();
    cleanup = c.cleanup;
    node = await startNode(c.config, { schema: c.schema, listen: true });
    A.owner = node.ownerKey as string;
    A.id = ((await call(A.owner, "GET", "/v1/me")).merchant as { id: string }).id;
    A.auditor = (await call(A.owner, "POST", "/v1/api-keys", { role: "auditor", label: "x" }))
      .key as string;
    const b = await call(node.operatorKey as string, "POST", "/v1/merchants", { name: "B" });
    B.id = b.id as string;
    B.owner = b.ownerKey as string;
    B.auditor = (await call(B.owner, "POST", "/v1/api-keys", { role: "auditor", label: "x" }))
      .key as string;
    // The apikey.created entries are sealed: the hash of each key is its merchant's business.
    secretsOf.A.push(sha256(A.owner), sha256(A.auditor));
    secretsOf.B.push(sha256(B.owner), sha256(B.auditor));
    for (const sealed of [false, true, true, false]) {
      await attest(A, sealed);
      await attest(B, sealed);
    }
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    cleanup?.();
  });

  /** Index → sealed entry's merchant (below `size`), read by each merchant's owner key. */
  async function sealedIndexes(size = node.sequencer.head.size) {
    const of = new Map<number, "A" | "B">();
    for (const [name, m] of [
      ["A", A],
      ["B", B],
    ] as const) {
      for (const e of await servedEntries(node.url, m.owner)) {
        if (e.sealed && e.canonical !== undefined && e.index < size) of.set(e.index, name);
      }
    }
    return of;
  }

  it("without credentials: verifies the tree, holds sealed entries as leaf hashes only", async () => {
    const dir = tempDir();
    const r = await runMirror({ url: node.url, dir, pageSize: 4 });
    const size = node.sequencer.head.size;
    expect(r.size).toBe(size);
    expect(r.checkpoint).toBe(node.sequencer.head.note);

    const copy = await mirrored(dir);
    expect(copy).toEqual((await servedEntries(node.url)).slice(0, copy.length));
    const sealed = await sealedIndexes(r.size);
    // Entry 1, the demo merchant's first key, is sealed; so are 4 attestations and 3 more keys.
    expect(sealed.get(1)).toBe("A");
    expect(sealed.size).toBeGreaterThanOrEqual(4 + 4);
    expect(r.hashOnly).toBe(BigInt(sealed.size));
    for (const e of copy) {
      if (sealed.has(e.index))
        expect(e).toEqual({ index: e.index, leafHash: e.leafHash, sealed: true });
      else expect(e.canonical).toBeDefined();
    }
    // No byte of a sealed entry is in the directory; the public ones are.
    const text = copyText(dir);
    for (const s of [...secretsOf.A, ...secretsOf.B]) expect(text).not.toContain(s);
    for (const p of published) expect(text).toContain(p);
  });

  it("with merchant A's auditor key: A's sealed entries whole, B's still hashes", async () => {
    const dir = tempDir();
    const r = await runMirror({ url: node.url, dir, apiKey: A.auditor, pageSize: 4 });
    expect(r.size).toBe(node.sequencer.head.size);
    const sealed = await sealedIndexes(r.size);
    const ofB = [...sealed.values()].filter((m) => m === "B").length;
    expect(ofB).toBeGreaterThanOrEqual(4);
    expect(r.hashOnly).toBe(BigInt(ofB));

    const copy = await mirrored(dir);
    expect(copy).toEqual((await servedEntries(node.url, A.auditor)).slice(0, copy.length));
    for (const e of copy) {
      const of = sealed.get(e.index);
      if (of === "B") {
        expect(e.canonical).toBeUndefined();
        continue;
      }
      expect(e.canonical).toBeDefined();
      const entry = decodeEntry(Buffer.from(e.canonical as string, "base64"));
      expect(isSealed(entry)).toBe(of === "A");
      expect(e.sealed).toBe(of === "A");
      if (of === "A") {
        expect(entry.subjects?.some((s) => "merchant" in s && s.merchant === A.id)).toBe(true);
      }
    }
    const text = copyText(dir);
    for (const s of secretsOf.A) expect(text).toContain(s);
    for (const s of secretsOf.B) expect(text).not.toContain(s);
    expect(text).not.toContain(A.auditor);

    // B's auditor key shows the mirror the other half, and nothing of A's.
    const dirB = tempDir();
    await runMirror({ url: node.url, dir: dirB, apiKey: B.auditor });
    const textB = copyText(dirB);
    for (const s of secretsOf.B) expect(textB).toContain(s);
    for (const s of secretsOf.A) expect(textB).not.toContain(s);
  });

  it("the command takes the key with --api-key (inline or a file) or PATRON_MIRROR_KEY", async () => {
    const keyFile = join(tempDir(), "auditor.key");
    writeFileSync(keyFile, `${A.auditor}\n`, { mode: 0o600 });
    const ofB = [...(await sealedIndexes()).values()].filter((m) => m === "B").length;
    const size = node.sequencer.head.size;
    for (const [args, env] of [
      [["--api-key", keyFile], {}],
      [["--api-key", A.auditor], {}],
      [[], { PATRON_MIRROR_KEY: keyFile }],
      [[], { PATRON_MIRROR_KEY: A.auditor }],
    ] as const) {
      const dir = tempDir();
      const cmd = await captured(() => mirrorCommand([node.url, "--dir", dir, ...args], env));
      expect(cmd.err).not.toContain(A.auditor);
      expect(cmd.value).toBe(0);
      expect(cmd.out).toBe(
        `OK: mirrored ${size} entries of ${node.identity.origin}, checkpoint size ${size} verified (${size} new entries this run; ${ofB} sealed entries held as leaf hashes only)\n`,
      );
      expect(copyText(dir)).toContain(secretsOf.A[0]);
    }

    // --api-key wins over the environment; a key the node does not know is a failure.
    const unknown = `pat_${"u".repeat(43)}`;
    const refused = await captured(() =>
      mirrorCommand([node.url, "--dir", tempDir(), "--api-key", unknown], {
        PATRON_MIRROR_KEY: A.auditor,
      }),
    );
    expect(refused.value).toBe(1);
    expect(refused.err).toMatch(/^FAILED: .*answered 401.*refused the mirror's API key/m);
    expect(refused.err).not.toContain(unknown);

    // --key is the log's verifier key: an API key given there is pointed to --api-key.
    for (const value of [A.auditor, keyFile]) {
      const misplaced = await captured(() =>
        mirrorCommand([node.url, "--dir", tempDir(), "--key", value], {}),
      );
      expect(misplaced.value).toBe(2);
      expect(misplaced.err).toMatch(
        /^patron: --key takes the log's verifier key; give an API key with --api-key/,
      );
      expect(misplaced.err).not.toContain(A.auditor);
    }
    const bad = await captured(() =>
      mirrorCommand([node.url, "--dir", tempDir(), "--api-key", "short"], {}),
    );
    expect(bad.value).toBe(2);
    expect(bad.err).toMatch(/--api-key is neither an API key nor a readable file/);
  });

  it("a copy made without a key continues with one, keeping what it holds", async () => {
    const dir = tempDir();
    await runMirror({ url: node.url, dir });
    const before = await mirrored(dir);
    await attest(A, true);
    const lines: string[] = [];
    const r = await runMirror({ url: node.url, dir, apiKey: A.auditor, log: (l) => lines.push(l) });
    expect(lines.join("\n")).toMatch(/the last run that added to this copy had no API key/);
    const after = await mirrored(dir);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.at(-1)?.canonical).toBeDefined();
    expect(r.hashOnly).toBe(BigInt(before.filter((e) => e.canonical === undefined).length));
    // A key the node refuses stops the run before anything is kept.
    await attest(A, false);
    const err = await runMirror({ url: node.url, dir, apiKey: `pat_${"z".repeat(43)}` }).catch(
      (e: unknown) => e,
    );
    expect((err as MirrorError).code).toBe("auth");
    expect(await mirrored(dir)).toEqual(after);
  });
});
