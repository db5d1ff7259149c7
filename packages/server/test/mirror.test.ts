import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  consistencyProof,
  encodeEntry,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  rootFromLeafHashes,
  signCheckpoint,
  verifyCheckpoint,
} from "@patron/ledger";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { mirrorCommand } from "../src/mirror/cli.js";
import { ForkAlarm, MirrorError, runMirror } from "../src/mirror/mirror.js";
import { type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import { captured, mirrored } from "./mirror-helpers.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "patron-mirror-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const checkpointLog = (dir: string) =>
  readFileSync(join(dir, "checkpoints.log"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { size: string; root: string; note: string });

const evidenceFiles = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.startsWith("fork-evidence-"))
    .map((n) => join(dir, n));

describe("patron mirror against a real node", () => {
  let node: PatronNode;
  let cleanup: () => void;
  const digest = (s: string) => createHash("sha256").update(s).digest("hex");

  beforeAll(async () => {
    const c = pglite.config();
    cleanup = c.cleanup;
    node = await startNode(c.config, { schema: c.schema, listen: true });
  });
  afterAll(async () => {
    await node?.close();
    cleanup?.();
  });

  const attest = (n: number, tag: string) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await fetch(`${node.url}/v1/attestations`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${node.ownerKey}`,
          },
          body: JSON.stringify({ digest: digest(`${tag}-${i}`) }),
        });
        expect(r.status).toBe(201);
      }),
    );

  async function sourceEntries() {
    const all = [];
    for (let from = 0; ; ) {
      const page = (await (
        await fetch(`${node.url}/v1/ledger/entries?from=${from}&limit=1000`)
      ).json()) as {
        entries: { index: number; leafHash: string; canonical: string }[];
        next: number | null;
      };
      all.push(
        ...page.entries.map(({ index, leafHash, canonical }) => ({ index, leafHash, canonical })),
      );
      if (page.next === null) return all;
      from = page.next;
    }
  }

  /** A fetch that records the `from` of every entries request. */
  function counting() {
    const froms: number[] = [];
    const f: typeof fetch = (input, init) => {
      const u = new URL(String(input));
      if (u.pathname === "/v1/ledger/entries") froms.push(Number(u.searchParams.get("from")));
      return fetch(input, init);
    };
    return { fetch: f, froms };
  }

  it("keeps a verified copy and continues incrementally", async () => {
    const dir = tempDir();
    await attest(12, "a");
    const first = counting();
    const progress: bigint[] = [];
    const r1 = await runMirror({
      url: node.url,
      dir,
      pageSize: 5,
      fetch: first.fetch,
      progress: (done) => progress.push(done),
    });
    const size1 = node.sequencer.head.size;
    expect(r1.size).toBe(size1);
    expect(r1.fetched).toBe(size1);
    expect(r1.origin).toBe(node.identity.origin);
    expect(r1.verifierKey).toBe(node.identity.verifierKey);
    expect(first.froms[0]).toBe(0);
    expect(progress.at(-1)).toBe(size1);
    expect(await mirrored(dir)).toEqual(await sourceEntries());

    const cps = checkpointLog(dir);
    expect(cps.length).toBeGreaterThan(1);
    for (const c of cps) {
      expect(verifyCheckpoint(c.note, node.identity.verifierKey).size).toBe(BigInt(c.size));
    }
    expect(cps.map((c) => BigInt(c.size))).toEqual(
      [...cps.map((c) => BigInt(c.size))].sort((a, b) => (a < b ? -1 : 1)),
    );
    expect(cps.at(-1)?.note).toBe(node.sequencer.head.note);

    await attest(8, "b");
    const second = counting();
    const r2 = await runMirror({ url: node.url, dir, pageSize: 5, fetch: second.fetch });
    expect(r2.size).toBe(node.sequencer.head.size);
    expect(r2.fetched).toBe(node.sequencer.head.size - size1);
    expect(second.froms[0]).toBe(Number(size1));
    expect(second.froms.every((f) => f >= Number(size1))).toBe(true);
    expect(await mirrored(dir)).toEqual(await sourceEntries());

    const third = counting();
    const r3 = await runMirror({ url: node.url, dir, fetch: third.fetch });
    expect(r3.fetched).toBe(0n);
    expect(third.froms).toEqual([]);

    // The command: summary on stdout, exit 0.
    await attest(2, "c");
    const cmd = await captured(() => mirrorCommand([node.url, "--dir", dir]));
    expect(cmd.value).toBe(0);
    expect(cmd.out).toContain(
      `OK: mirrored ${node.sequencer.head.size} entries of ${node.identity.origin}, checkpoint size ${node.sequencer.head.size} verified`,
    );
  });

  it("repairs what an interrupted commit left behind", async () => {
    const dir = tempDir();
    await runMirror({ url: node.url, dir });
    const segment = join(dir, "entries", readdirSync(join(dir, "entries"))[0] as string);
    const before = readFileSync(segment, "utf8");
    appendFileSync(segment, '{"index":999999,"leafHash":"00","canonical":"AA=="}\n');
    appendFileSync(join(dir, "checkpoints.log"), "half a line");
    await attest(3, "d");
    const r = await runMirror({ url: node.url, dir });
    expect(r.size).toBe(node.sequencer.head.size);
    expect(readFileSync(segment, "utf8").startsWith(before)).toBe(true);
    expect(await mirrored(dir)).toEqual(await sourceEntries());
    expect(checkpointLog(dir).at(-1)?.note).toBe(node.sequencer.head.note);
  });

  it("follows the node until stopped", async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const lines: string[] = [];
    const running = runMirror({
      url: node.url,
      dir,
      follow: true,
      intervalMs: 50,
      signal: controller.signal,
      log: (l) => lines.push(l),
    });
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith("verified"))).toBe(true), {
      timeout: 10_000,
    });
    await attest(3, "e");
    const target = node.sequencer.head.size;
    await vi.waitFor(
      () =>
        expect(lines.some((l) => l.startsWith(`verified checkpoint of size ${target}`))).toBe(true),
      { timeout: 10_000, interval: 20 },
    );
    controller.abort();
    const r = await running;
    expect(r.aborted).toBe(true);
    expect(r.size).toBe(target);
    expect(r.rounds).toBeGreaterThan(1);
  });
});

// ---------------------------------------------------------------------------------------------
// A fake source serving logs built in memory, all signed with the same key.

const ORIGIN = "mirror.test/fork";
const KEYS = generateNoteKeys(ORIGIN);

interface FakeLog {
  entries: Uint8Array[];
  leaves: Uint8Array[];
  /** Signed checkpoints, in increasing size; the last is the head. */
  checkpoints: { size: number; note: string }[];
}

const entry = (branch: string, i: number) =>
  encodeEntry({
    v: 1,
    type: "attestation.created",
    actor: "node",
    time: "2026-01-02T03:04:05.000Z",
    payload: { branch, n: i },
  });

/** `shared` entries common to every branch, then entries of `branch` up to `size`. */
function makeLog(
  size: number,
  checkpointSizes: number[],
  opts: { shared?: number; branch?: string; signerKey?: string } = {},
): FakeLog {
  const shared = opts.shared ?? size;
  const entries = Array.from({ length: size }, (_, i) =>
    entry(i < shared ? "main" : (opts.branch ?? "main"), i),
  );
  const leaves = entries.map(hashLeaf);
  const checkpoints = checkpointSizes.map((n) => ({
    size: n,
    note: signCheckpoint(
      {
        origin: ORIGIN,
        size: BigInt(n),
        root: rootFromLeafHashes(leaves.slice(0, n)),
        extensions: [],
      },
      opts.signerKey ?? KEYS.signerKey,
    ),
  }));
  return { entries, leaves, checkpoints };
}

interface Served {
  log: FakeLog;
  key?: string;
  /** Extra checkpoints listed by GET /v1/ledger/checkpoints (another history's). */
  listed?: { size: number; note: string }[];
  /** Checkpoints per page of GET /v1/ledger/checkpoints (default: as many as asked for). */
  checkpointPage?: number;
  /** Answer every GET /v1/ledger/checkpoints from the start, whatever `after` says. */
  ignoreAfter?: boolean;
  /** Refuse consistency proofs (HTTP 500), or serve one that does not verify. */
  proof?: "error" | "garbage";
  entry?: (e: { index: number; leafHash: string; canonical: string }) => {
    index: number;
    leafHash: string;
    canonical: string;
  };
}

async function fakeSource(initial: Served) {
  let served = initial;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const q = (k: string) => Number(u.searchParams.get(k) ?? 0);
    const { log } = served;
    const head = log.checkpoints.at(-1) as { size: number; note: string };
    const json = (body: unknown) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(body));
    };
    switch (u.pathname) {
      case "/v1/ledger/key":
        res.end(`${served.key ?? KEYS.verifierKey}\n`);
        return;
      case "/v1/ledger/checkpoint":
        res.end(head.note);
        return;
      case "/v1/ledger/checkpoints": {
        const all = [...log.checkpoints, ...(served.listed ?? [])].sort((a, b) => a.size - b.size);
        const after = served.ignoreAfter ? 0 : q("after");
        const limit = Math.min(q("limit") || 100, served.checkpointPage ?? Number.MAX_SAFE_INTEGER);
        return json({ checkpoints: all.filter((c) => c.size > after).slice(0, limit) });
      }
      case "/v1/ledger/entries": {
        const from = q("from");
        const to = Math.min(from + (q("limit") || 100), head.size);
        const entries = [];
        for (let i = from; i < to; i++) {
          const e = {
            index: i,
            leafHash: encodeHex(log.leaves[i] as Uint8Array),
            canonical: Buffer.from(log.entries[i] as Uint8Array).toString("base64"),
          };
          entries.push(served.entry ? served.entry(e) : e);
        }
        return json({ size: head.size, entries, next: to < head.size ? to : null });
      }
      case "/v1/ledger/proofs/consistency": {
        if (served.proof === "error") {
          res.statusCode = 500;
          return json({ error: { code: "internal", message: "no proof today" } });
        }
        const proof = consistencyProof(log.leaves.slice(0, q("to")), q("from"));
        if (served.proof === "garbage") proof[0] = hashLeaf(proof[0] as Uint8Array);
        return json({ from: q("from"), to: q("to"), proof: proof.map(encodeHex) });
      }
      default:
        res.statusCode = 404;
        json({ error: { code: "not_found", message: "no such path" } });
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    serve(next: Served) {
      served = next;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Fake = Awaited<ReturnType<typeof fakeSource>>;

describe("patron mirror against a lying source", () => {
  const A = makeLog(10, [4, 7, 10]);
  let fake: Fake;
  beforeAll(async () => {
    fake = await fakeSource({ log: A });
  });
  afterEach(() => fake.serve({ log: A }));
  afterAll(async () => fake?.close());

  async function mirroredA() {
    const dir = tempDir();
    const r = await runMirror({ url: fake.url, dir, pageSize: 3 });
    expect(r.size).toBe(10n);
    expect(r.origin).toBe(ORIGIN);
    return dir;
  }

  async function expectFork(
    dir: string,
    kind: string,
    previousSize: string,
    conflictingSize: string,
  ) {
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForkAlarm);
    const alarm = err as ForkAlarm;
    expect(alarm.code).toBe("fork");
    expect(alarm.message).toContain(alarm.evidence);
    const evidence = JSON.parse(readFileSync(alarm.evidence, "utf8"));
    expect(evidence).toMatchObject({ kind, origin: ORIGIN, verifierKey: KEYS.verifierKey });
    expect(evidence.previous.size).toBe(previousSize);
    expect(evidence.conflicting.size).toBe(conflictingSize);
    for (const c of [evidence.previous, evidence.conflicting]) {
      expect(verifyCheckpoint(c.note, KEYS.verifierKey, { origin: ORIGIN }).size).toBe(
        BigInt(c.size),
      );
    }
    expect(evidence.previous.note).not.toBe(evidence.conflicting.note);
    return { alarm, evidence };
  }

  it("raises a fork alarm when the source switches to a diverging, larger history", async () => {
    const dir = await mirroredA();
    const B = makeLog(14, [4, 9, 14], { shared: 6, branch: "B" });
    fake.serve({ log: B });
    const { alarm, evidence } = await expectFork(dir, "inconsistent", "10", "14");
    expect(alarm.message).toMatch(/FORK: .*size 14 that does not extend the checkpoint of size 10/);
    expect(evidence.previous.note).toBe(A.checkpoints.at(-1)?.note);
    expect(evidence.consistencyProof.verifies).toBe(false);
    // Nothing of B was kept.
    expect((await mirrored(dir)).length).toBe(10);
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).size).toBe("10");

    const cmd = await captured(() => mirrorCommand([fake.url, "--dir", dir]));
    expect(cmd.value).toBe(1);
    expect(cmd.err).toMatch(/^ALARM: FORK: /m);
    expect(cmd.err).toMatch(/^Evidence: .*fork-evidence-.*\.json$/m);
    expect(evidenceFiles(dir)).toHaveLength(2);
  });

  it("raises a fork alarm on a different root at the same size", async () => {
    const dir = await mirroredA();
    fake.serve({ log: makeLog(10, [4, 10], { shared: 8, branch: "B" }) });
    const { alarm } = await expectFork(dir, "same-size", "10", "10");
    expect(alarm.message).toMatch(/signed two different checkpoints of size 10/);
  });

  it("raises a fork alarm when the log shrinks", async () => {
    const dir = await mirroredA();
    fake.serve({ log: makeLog(8, [4, 8]) });
    const { alarm } = await expectFork(dir, "rollback", "10", "8");
    expect(alarm.message).toMatch(/smaller than the checkpoint of size 10/);
  });

  it("raises a fork alarm when a listed checkpoint contradicts the entries of the latest", async () => {
    const X = makeLog(7, [7], { shared: 5, branch: "X" });
    fake.serve({ log: A, listed: X.checkpoints });
    const dir = tempDir();
    await expectFork(dir, "intermediate", "7", "10");
    expect((await mirrored(dir)).length).toBe(0);
  });

  it("accepts a source that keeps extending the same history", async () => {
    const dir = await mirroredA();
    fake.serve({ log: makeLog(25, [4, 7, 10, 13, 20, 25]) });
    const r = await runMirror({ url: fake.url, dir, pageSize: 4 });
    expect(r.size).toBe(25n);
    expect(r.fetched).toBe(15n);
    expect(r.checkpoints).toBe(3);
    expect(evidenceFiles(dir)).toEqual([]);
  });

  it("stops a source that lists the same checkpoints again and again", async () => {
    fake.serve({ log: A, checkpointPage: 1, ignoreAfter: true });
    const err = await runMirror({ url: fake.url, dir: tempDir() }).catch((e: unknown) => e);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(/listed checkpoint size 4 after size 4/);
  });

  it("needs no consistency proof when the entries prove it, but rejects a wrong one", async () => {
    const dir = await mirroredA();
    const longer = makeLog(16, [4, 7, 10, 16]);
    fake.serve({ log: longer, proof: "error" });
    const lines: string[] = [];
    const r = await runMirror({ url: fake.url, dir, log: (l) => lines.push(l) });
    expect(r.size).toBe(16n);
    expect(lines.join("\n")).toMatch(/no consistency proof from size 10 to 16 .*no proof today/);

    fake.serve({ log: makeLog(20, [4, 7, 10, 16, 20]), proof: "garbage" });
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(
      /consistency proof .* from size 16 to 20 does not verify/,
    );
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).size).toBe("16");

    // A fork whose source refuses the proof is still a fork.
    fake.serve({ log: makeLog(22, [22], { shared: 12, branch: "F" }), proof: "error" });
    const { alarm, evidence } = await expectFork(dir, "inconsistent", "16", "22");
    expect(alarm.message).toMatch(/could not be fetched/);
    expect(evidence.consistencyProof.error).toMatch(/answered 500/);
  });

  it("rejects altered entry bytes, naming the entry", async () => {
    const other = Buffer.from(entry("evil", 5)).toString("base64");
    fake.serve({ log: A, entry: (e) => (e.index === 5 ? { ...e, canonical: other } : e) });
    const dir = tempDir();
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorError);
    expect(err).not.toBeInstanceOf(ForkAlarm);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(/^entry 5: its bytes hash to .* the entry was altered/);
    expect((await mirrored(dir)).length).toBe(0);

    // Altered bytes with a matching leaf hash still cannot reach the signed root.
    fake.serve({
      log: A,
      entry: (e) =>
        e.index === 5
          ? { ...e, canonical: other, leafHash: encodeHex(hashLeaf(entry("evil", 5))) }
          : e,
    });
    const err2 = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect((err2 as MirrorError).code).toBe("invalid");
    expect((err2 as Error).message).toMatch(/do not match its signed checkpoint/);

    const cmd = await captured(() => mirrorCommand([fake.url, "--dir", tempDir()]));
    expect(cmd.value).toBe(1);
    expect(cmd.err).toMatch(/^ALARM: .*signed checkpoint/m);
  });

  it("rejects a checkpoint signed by another key", async () => {
    const intruder = generateNoteKeys(ORIGIN);
    fake.serve({ log: makeLog(10, [10], { signerKey: intruder.signerKey }) });
    const dir = tempDir();
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(/does not verify under the pinned key/);

    // An intruder serving its own key to a mirror that pinned the real one.
    fake.serve({ log: A });
    const pinned = await mirroredA();
    fake.serve({
      log: makeLog(12, [12], { signerKey: intruder.signerKey }),
      key: intruder.verifierKey,
    });
    const err2 = await runMirror({ url: fake.url, dir: pinned }).catch((e: unknown) => e);
    expect((err2 as MirrorError).code).toBe("key");

    // The key given on the command line wins over what the source serves on first contact.
    const cmd = await captured(() =>
      mirrorCommand([fake.url, "--dir", tempDir(), "--key", KEYS.verifierKey]),
    );
    expect(cmd.value).toBe(1);
    expect(cmd.err).toMatch(/^ALARM: .*now serves the verifier key/m);
  });

  it("reports usage errors with exit status 2", async () => {
    const d = tempDir();
    const cases: [string[], RegExp][] = [
      [[], /needs the node's URL/],
      [[fake.url], /--dir <path>/],
      [["ftp://x", "--dir", d], /http:\/\/ or https:\/\//],
      [["not a url", "--dir", d], /not a URL/],
      [[fake.url, "extra", "--dir", d], /unexpected argument "extra"/],
      [[fake.url, "--dir", d, "--bogus"], /bogus/],
      [[fake.url, "--dir", d, "--interval", "5"], /only makes sense with --follow/],
      [[fake.url, "--dir", d, "--follow", "--interval", "0"], /--interval must be/],
      [[fake.url, "--dir", d, "--chain", "http://127.0.0.1:1"], /--contract/],
      [[fake.url, "--dir", d, "--contract", `0x${"1".repeat(40)}`], /--chain needs the chain/],
      [
        [fake.url, "--dir", d, "--chain", "ws://x", "--contract", `0x${"1".repeat(40)}`],
        /JSON-RPC URL/,
      ],
      [[fake.url, "--dir", d, "--chain", "http://x", "--contract", "0x12"], /--contract/],
      [[fake.url, "--dir", d, "--key", join(d, "missing.vkey")], /--key is neither/],
      [[fake.url, "--dir", d, "--key", "a+01234567+AAAA"], /--key: /],
    ];
    for (const [args, message] of cases) {
      const cmd = await captured(() => mirrorCommand(args));
      expect(cmd.err).toMatch(/^patron: /);
      expect(cmd.err).toMatch(message);
      expect(cmd.value).toBe(2);
    }
    expect(readdirSync(d)).toEqual([]);
  });
});
