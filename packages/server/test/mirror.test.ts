import { createHash } from "node:crypto";
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Command,
  consistencyProof,
  decodeEntry,
  type Entry,
  encodeBase64Url,
  encodeEntry,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  isSealed,
  rootFromLeafHashes,
  type SignedCommand,
  signCheckpoint,
  signCommand,
  tryDecodeBase64Url,
  verifyCheckpoint,
} from "@patron/ledger";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { mirrorCommand } from "../src/mirror/cli.js";
import { ForkAlarm, MirrorError, runMirror } from "../src/mirror/mirror.js";
import { type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import { captured, copyText, mirrored, servedEntries } from "./mirror-helpers.js";

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

  const sourceEntries = () => servedEntries(node.url);

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
    // Entry 1, the demo merchant's owner key, is sealed: the mirror holds only its leaf hash.
    const copy = await mirrored(dir);
    expect(copy[1]).toEqual({ index: 1, leafHash: copy[1]?.leafHash, sealed: true });
    expect(r1.hashOnly).toBe(BigInt(copy.filter((e) => e.canonical === undefined).length));

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

const MERCHANT = "m_fake";
const TIME = "2026-01-02T03:04:05.000Z";
const salt = (i: number) => encodeBase64Url(new Uint8Array(16).fill(i + 1));

/** A sealed entry whose payload holds `secret`. */
const sealedEntry = (i: number, secret: string) =>
  encodeEntry({
    v: 1,
    type: "attestation.created",
    actor: "node",
    time: TIME,
    payload: { secret, n: i },
    subjects: [{ merchant: MERCHANT, prev: null }],
    salt: salt(i),
  });

// The worked example of docs/ledger.md ("Signed commands"): this seed and its did:key.
const CUSTOMER_SEED = new Uint8Array(32).fill(0x01);
const CUSTOMER_DID = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX";

/** An entry keeping a customer's signed command; `tamper` flips a bit of its signature. */
function signedEntry(
  i: number,
  opts: { tamper?: boolean; sealed?: boolean; ledger?: string; actor?: string } = {},
): Uint8Array {
  const command: Command = {
    v: 1,
    type: "customer.join",
    ledger: opts.ledger ?? ORIGIN,
    actor: CUSTOMER_DID,
    merchant: MERCHANT,
    nonce: salt(i),
    expires: "2026-01-03T03:04:05Z",
    payload: { programme: "default", n: i },
  };
  let signed = signCommand(command, CUSTOMER_SEED) as Extract<SignedCommand, { signature: string }>;
  if (opts.tamper) {
    const sig = tryDecodeBase64Url(signed.signature) as Uint8Array;
    sig[10] = (sig[10] as number) ^ 0x01;
    signed = { command: signed.command, signature: encodeBase64Url(sig) };
  }
  const e: Entry = {
    v: 1,
    type: "customer.joined",
    actor: opts.actor ?? CUSTOMER_DID,
    time: TIME,
    payload: { n: i },
    subjects: [
      { customer: "c_fake", prev: null },
      { merchant: MERCHANT, prev: null },
    ],
    signed,
  };
  if (opts.sealed) e.salt = salt(i);
  return encodeEntry(e);
}

/**
 * `shared` entries common to every branch, then entries of `branch` up to `size`; `replace`
 * puts other entries at some indices.
 */
function makeLog(
  size: number,
  checkpointSizes: number[],
  opts: {
    shared?: number;
    branch?: string;
    signerKey?: string;
    replace?: Record<number, Uint8Array>;
  } = {},
): FakeLog {
  const shared = opts.shared ?? size;
  const entries = Array.from(
    { length: size },
    (_, i) => opts.replace?.[i] ?? entry(i < shared ? "main" : (opts.branch ?? "main"), i),
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
  /**
   * Serve sealed entries as `{index, leafHash, sealed: true}`, as a node does to a caller that
   * is not their party; to the Bearer token `reader` they are served whole, and any other
   * token is refused with 401.
   */
  hideSealed?: boolean;
  reader?: string;
  entry?: (e: ServedView) => ServedView;
}

interface ServedView {
  index: number;
  leafHash: string;
  canonical?: string;
  sealed?: boolean;
}

async function fakeSource(initial: Served) {
  let served = initial;
  /** Every request: its path and the Authorization header it carried. */
  const requests: { path: string; authorization?: string }[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    requests.push({ path: u.pathname, authorization: req.headers.authorization });
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
        const auth = req.headers.authorization;
        if (auth !== undefined && auth !== `Bearer ${served.reader}`) {
          res.statusCode = 401;
          return json({ error: { code: "unauthorized", message: "unknown or revoked API key" } });
        }
        const from = q("from");
        const to = Math.min(from + (q("limit") || 100), head.size);
        const entries = [];
        for (let i = from; i < to; i++) {
          const bytes = log.entries[i] as Uint8Array;
          const sealed = isSealed(decodeEntry(bytes));
          const leafHash = encodeHex(log.leaves[i] as Uint8Array);
          const e: ServedView =
            sealed && served.hideSealed && auth === undefined
              ? { index: i, leafHash, sealed: true }
              : { index: i, leafHash, canonical: Buffer.from(bytes).toString("base64"), sealed };
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
    requests,
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

describe("patron mirror over sealed entries and signed commands", () => {
  let fake: Fake;
  const READER = `pat_${"r".repeat(43)}`;
  /** Entries 2 and 5 sealed (5 keeps a signed command), 3 public with a signed command. */
  const MIXED = makeLog(8, [3, 6, 8], {
    replace: {
      2: sealedEntry(2, "secret-two"),
      3: signedEntry(3),
      5: signedEntry(5, { sealed: true }),
    },
  });
  beforeAll(async () => {
    fake = await fakeSource({ log: MIXED, hideSealed: true, reader: READER });
  });
  afterEach(() => {
    fake.serve({ log: MIXED, hideSealed: true, reader: READER });
    fake.requests.length = 0;
  });
  afterAll(async () => fake?.close());

  const grep = (dir: string, needle: string) => copyText(dir).includes(needle);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

  it("keeps the sealed entries it may not read as their leaf hashes", async () => {
    const dir = tempDir();
    const r = await runMirror({ url: fake.url, dir, pageSize: 3 });
    expect(r.size).toBe(8n);
    expect(r.hashOnly).toBe(2n);
    const copy = await mirrored(dir);
    expect(copy.map((e) => e.canonical === undefined)).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(copy[2]).toEqual({
      index: 2,
      leafHash: encodeHex(MIXED.leaves[2] as Uint8Array),
      sealed: true,
    });
    expect(copy[3]).toMatchObject({
      canonical: b64(MIXED.entries[3] as Uint8Array),
      sealed: false,
    });
    expect(grep(dir, "secret-two")).toBe(false);
    expect(grep(dir, b64(MIXED.entries[2] as Uint8Array))).toBe(false);
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    expect(state).toMatchObject({ format: "patron-mirror/2", hashOnly: "2", withApiKey: false });
    // No request carried credentials.
    expect(fake.requests.every((q) => q.authorization === undefined)).toBe(true);

    const cmd = await captured(() => mirrorCommand([fake.url, "--dir", tempDir()], {}));
    expect(cmd.value).toBe(0);
    expect(cmd.out).toMatch(
      /verified \(8 new entries this run; 2 sealed entries held as leaf hashes only\)\n$/,
    );
  });

  it("still checks the tree: a wrong leaf hash for a sealed entry is refused", async () => {
    fake.serve({
      log: MIXED,
      hideSealed: true,
      entry: (e) => (e.index === 2 ? { ...e, leafHash: encodeHex(hashLeaf(entry("x", 2))) } : e),
    });
    const dir = tempDir();
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ForkAlarm);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(/do not match its signed checkpoint/);
    expect((await mirrored(dir)).length).toBe(0);

    for (const [view, message] of [
      [
        { index: 2, leafHash: "ab" },
        /entry 2: the source serves neither its bytes nor marks it sealed/,
      ],
      [
        { index: 2, leafHash: "zz", sealed: true },
        /entry 2: its leaf hash zz is not 32 bytes of hex/,
      ],
      [
        {
          index: 3,
          leafHash: encodeHex(MIXED.leaves[3] as Uint8Array),
          canonical: b64(MIXED.entries[3] as Uint8Array),
          sealed: true,
        },
        /entry 3: the source marks it sealed, but its bytes carry no salt/,
      ],
    ] as const) {
      fake.serve({
        log: MIXED,
        hideSealed: true,
        entry: (e) => (e.index === view.index ? view : e),
      });
      const err2 = await runMirror({ url: fake.url, dir: tempDir() }).catch((e: unknown) => e);
      expect((err2 as MirrorError).code).toBe("invalid");
      expect((err2 as Error).message).toMatch(message);
    }
  });

  it("copies whole, and checks, the sealed entries its API key may read", async () => {
    const dir = tempDir();
    const r = await runMirror({ url: fake.url, dir, apiKey: READER, pageSize: 3 });
    expect(r.hashOnly).toBe(0n);
    const copy = await mirrored(dir);
    expect(copy.map((e) => e.canonical)).toEqual(MIXED.entries.map(b64));
    expect(copy.map((e) => e.sealed)).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(grep(dir, "secret-two")).toBe(true);
    // The key went with the entries requests only, never with the public ones.
    const withKey = fake.requests.filter((q) => q.authorization !== undefined);
    expect(withKey.length).toBeGreaterThan(0);
    expect(
      withKey.every(
        (q) => q.path === "/v1/ledger/entries" && q.authorization === `Bearer ${READER}`,
      ),
    ).toBe(true);
    expect(fake.requests.some((q) => q.path !== "/v1/ledger/entries")).toBe(true);
    expect(readFileSync(join(dir, "state.json"), "utf8")).not.toContain(READER);

    // A refused key is a failure to check, not an alarm, and is not retried.
    const lines: string[] = [];
    const err = await runMirror({
      url: fake.url,
      dir: tempDir(),
      apiKey: `pat_${"x".repeat(43)}`,
      follow: true,
      intervalMs: 10,
      log: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect((err as MirrorError).code).toBe("auth");
    expect((err as Error).message).toMatch(
      /answered 401: unknown or revoked API key: the node refused the mirror's API key/,
    );
    expect((err as Error).message).not.toContain("x".repeat(43));
    expect(lines.some((l) => l.includes("retrying"))).toBe(false);
  });

  it("notes a run whose API key differs from the runs that made the copy", async () => {
    const dir = tempDir();
    await runMirror({ url: fake.url, dir, pageSize: 3 });
    fake.serve({
      log: makeLog(10, [3, 6, 8, 10], {
        replace: {
          2: sealedEntry(2, "secret-two"),
          3: signedEntry(3),
          5: signedEntry(5, { sealed: true }),
          9: sealedEntry(9, "secret-nine"),
        },
      }),
      hideSealed: true,
      reader: READER,
    });
    const lines: string[] = [];
    const r = await runMirror({ url: fake.url, dir, apiKey: READER, log: (l) => lines.push(l) });
    expect(lines.join("\n")).toMatch(
      /the last run that added to this copy had no API key; the 2 sealed entries the copy holds as leaf hashes stay so/,
    );
    // Each entry is copied once: 2 and 5 stay hashes, 9 was read whole with the key.
    expect(r.hashOnly).toBe(2n);
    const copy = await mirrored(dir);
    expect(copy[9]?.canonical).toBeDefined();
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).withApiKey).toBe(true);
    const again: string[] = [];
    await runMirror({ url: fake.url, dir, log: (l) => again.push(l) });
    expect(again.join("\n")).toMatch(
      /the last run that added to this copy had an API key, this one has none: sealed entries from index 10 on/,
    );
  });

  it("verifies every signed command it holds, and names the entry whose signature fails", async () => {
    // Entry 3's command verifies (the first test mirrored it); here its signature is altered.
    const bad = makeLog(8, [3, 6, 8], {
      replace: { 2: sealedEntry(2, "secret-two"), 3: signedEntry(3, { tamper: true }) },
    });
    fake.serve({ log: bad, hideSealed: true });
    const dir = tempDir();
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorError);
    expect(err).not.toBeInstanceOf(ForkAlarm);
    expect((err as MirrorError).code).toBe("invalid");
    expect((err as Error).message).toMatch(
      /^entry 3: its signed command does not verify: the Ed25519 signature does not verify/,
    );
    expect((await mirrored(dir)).length).toBe(0);
    expect(evidenceFiles(dir)).toEqual([]);
    const cmd = await captured(() => mirrorCommand([fake.url, "--dir", tempDir()], {}));
    expect(cmd.value).toBe(1);
    expect(cmd.err).toMatch(/^ALARM: entry 3: its signed command does not verify/m);
    expect(cmd.err).not.toMatch(/FORK|Evidence/);

    // A sealed entry with a bad signature: a mirror without a key cannot see it; one with the
    // key of its merchant reads it whole and refuses it.
    const sealedBad = makeLog(8, [3, 6, 8], {
      replace: { 5: signedEntry(5, { sealed: true, tamper: true }) },
    });
    fake.serve({ log: sealedBad, hideSealed: true, reader: READER });
    expect((await runMirror({ url: fake.url, dir: tempDir() })).hashOnly).toBe(1n);
    const keyed = await runMirror({ url: fake.url, dir: tempDir(), apiKey: READER }).catch(
      (e: unknown) => e,
    );
    expect((keyed as Error).message).toMatch(/^entry 5: its signed command does not verify/);

    for (const [log, message] of [
      [
        makeLog(8, [8], { replace: { 4: signedEntry(4, { ledger: "another.example/log" }) } }),
        /^entry 4: its signed command is for the ledger "another.example\/log", not this log/,
      ],
      [
        makeLog(8, [8], { replace: { 4: signedEntry(4, { actor: "staff:someone" }) } }),
        /^entry 4: its actor staff:someone is not the signer of its command/,
      ],
    ] as const) {
      fake.serve({ log });
      const e2 = await runMirror({ url: fake.url, dir: tempDir() }).catch((e: unknown) => e);
      expect((e2 as MirrorError).code).toBe("invalid");
      expect((e2 as Error).message).toMatch(message);
    }
  });

  it("reads and continues a directory written before sealed entries (format 1)", async () => {
    const A = makeLog(10, [4, 7, 10]);
    fake.serve({ log: A });
    const dir = tempDir();
    await runMirror({ url: fake.url, dir });
    // state.json as the version before sealed entries wrote it.
    const {
      hashOnly: _h,
      withApiKey: _w,
      ...rest
    } = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({ ...rest, format: "patron-mirror/1" }, null, 2),
    );
    const before = await mirrored(dir);
    expect(before.map((e) => e.canonical)).toEqual(A.entries.map(b64));

    const longer = makeLog(14, [4, 7, 10, 14], { replace: { 12: sealedEntry(12, "later") } });
    fake.serve({ log: longer, hideSealed: true });
    const r = await runMirror({ url: fake.url, dir });
    expect(r.size).toBe(14n);
    expect(r.hashOnly).toBe(1n);
    const after = await mirrored(dir);
    expect(after.slice(0, 10)).toEqual(before);
    expect(after[12]).toEqual({
      index: 12,
      leafHash: encodeHex(longer.leaves[12] as Uint8Array),
      sealed: true,
    });
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8"))).toMatchObject({
      format: "patron-mirror/2",
      hashOnly: "1",
    });

    // A format this version does not know is refused, not guessed at.
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({ ...rest, format: "patron-mirror/9" }, null, 2),
    );
    const err = await runMirror({ url: fake.url, dir }).catch((e: unknown) => e);
    expect((err as MirrorError).code).toBe("state");
  });
});
