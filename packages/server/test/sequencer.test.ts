import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeEntry, encodeDidKey, encodeEntry, signCommand } from "@patron/ledger";
import { afterEach, describe, expect, it } from "vitest";
import type { Domain } from "../src/domain.js";
import { ApiError } from "../src/http/errors.js";
import { auditLedger } from "../src/ledger/audit.js";
import { EntryAuditor } from "../src/ledger/audit-entries.js";
import { ManualClock } from "../src/ledger/clock.js";
import type { CommandDraft, EntryDraft } from "../src/ledger/sequencer.js";
import { StagedMap } from "../src/ledger/staged.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, type Ledger, openLedger } from "../src/node.js";
import { type Backend, backends } from "../src/test-support/backends.js";

const M = "m_sequencertest";

describe.each(backends)("sequencer commands on $name", (backend: Backend) => {
  let ledger: Ledger | undefined;
  let cleanup: (() => void) | undefined;
  // A projection that fails on the database side, as a constraint would, for one entry; and
  // one whose batch the database is kept from writing until the test lets it go.
  let gate: Promise<void> | undefined;
  const SLOW = "SELECT 'test.slow'";
  const boom: Domain = {
    name: "boom",
    projectors: [
      { types: ["test.boom"], tables: [], statements: () => [{ sql: "SELECT 1/0" }] },
      { types: ["test.slow"], tables: [], statements: () => [{ sql: SLOW }] },
    ],
  };
  const hold = () => {
    let release = () => {};
    gate = new Promise<void>((r) => {
      release = r;
    });
    return () => {
      release();
      gate = undefined;
    };
  };
  // Resolved when a held write has reached the database layer (its batch is sealed).
  let held: Promise<void> = Promise.resolve();
  let heldStarted = () => {};
  const expectHeld = () => {
    held = new Promise<void>((r) => {
      heldStarted = r;
    });
  };
  const open = async (clock = new ManualClock(Date.UTC(2026, 5, 1)), batchMax?: number) => {
    const c = backend.config({ batchWaitMs: 5, ...(batchMax ? { batchMax } : {}) });
    cleanup = c.cleanup;
    ledger = await openLedger(c.config, { schema: c.schema, clock, domains: [...domains, boom] });
    const db = ledger.db;
    const writeAll = db.writeAll.bind(db);
    db.writeAll = async (statements) => {
      if (statements.some((s) => s.sql === SLOW)) {
        heldStarted();
        await gate;
      }
      return writeAll(statements);
    };
    return { ledger, clock };
  };
  afterEach(async () => {
    await ledger?.sequencer.close();
    await ledger?.db.close();
    cleanup?.();
    ledger = undefined;
  });

  /** A revocation that may happen once: a later one is refused on what the first staged. */
  const revoker = (l: Ledger) => {
    const revoked = l.sequencer.state.add(new StagedMap<string, boolean>());
    const revoke = (i: number, type: string) =>
      l.sequencer.execute({
        entries: [note(i, { type })],
        check: () => {
          if (revoked.get("k")) throw new ApiError(409, "already_revoked", "already revoked");
          revoked.set("k", true);
        },
      });
    return { revoked, revoke };
  };

  const note = (i: number, extra: Partial<EntryDraft> = {}): EntryDraft => ({
    type: "test.noted",
    actor: "test",
    payload: { i },
    parties: [{ merchant: M }],
    ...extra,
  });

  it("writes the entries of a command together, fills subjects and seals on request", async () => {
    const { ledger } = await open();
    const c = await ledger.sequencer.execute({
      entries: [
        note(1),
        note(2, { sealed: true, parties: [{ customer: "c_a" }, { merchant: M }] }),
      ],
    });
    expect(c.map((e) => e.index)).toEqual([0n, 1n]);
    // The bytes spliced together at sequencing are exactly the library's encoding.
    for (const e of c) {
      const decoded = decodeEntry(e.data);
      expect(encodeEntry(decoded)).toEqual(e.data);
      expect(decoded).toEqual(e.entry);
    }
    expect(c[0]?.entry.subjects).toEqual([{ merchant: M, prev: null }]);
    expect(c[1]?.entry.subjects).toEqual([
      { customer: "c_a", prev: null },
      { merchant: M, prev: 0 },
    ]);
    expect(c[0]?.entry.salt).toBeUndefined();
    expect(c[1]?.entry.salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await ledger.sequencer.headOf(M)).toBe(1n);
    expect(await ledger.sequencer.headOf("c_nobody")).toBeUndefined();
  });

  it("leaves nothing of a three-entry command refused at its second entry", async () => {
    const { ledger } = await open();
    await ledger.sequencer.submit(note(0));
    const before = ledger.sequencer.head;
    const staged = ledger.sequencer.state.add(new StagedMap<string, number>());
    const refused = ledger.sequencer.execute({
      entries: [
        note(1, { check: () => staged.set("first", 1) }),
        note(2, {
          check: () => {
            throw new ApiError(409, "refused", "no");
          },
        }),
        note(3),
      ],
    });
    await expect(refused).rejects.toMatchObject({ code: "refused" });
    expect(ledger.sequencer.head.size).toBe(before.size);
    expect(ledger.sequencer.head.root).toEqual(before.root);
    expect(staged.get("first")).toBeUndefined();
    expect(await listEntries(ledger.db, 0n, 10n)).toHaveLength(1);
    // The merchant's chain goes on from its last committed entry, not from the refused ones.
    const next = await ledger.sequencer.submit(note(4));
    expect(next.index).toBe(1n);
    expect(next.entry.subjects).toEqual([{ merchant: M, prev: 0 }]);
  });

  it("runs a command's own writes in its batch's transaction, and never a refused one's", async () => {
    const { ledger } = await open();
    await ledger.db.query("CREATE TABLE test_writes (idx bigint PRIMARY KEY, note text)");
    const writes = (note: string) => (es: { index: bigint }[]) =>
      es.map((e) => ({
        sql: "INSERT INTO test_writes (idx, note) VALUES ($1, $2)",
        params: [e.index.toString(), note],
      }));
    const refused = ledger.sequencer.execute({
      entries: [note(1)],
      writes: writes("refused"),
      check: () => {
        throw new ApiError(409, "refused", "no");
      },
    });
    const accepted = ledger.sequencer.execute({
      entries: [note(2), note(3)],
      writes: writes("ok"),
    });
    await expect(refused).rejects.toMatchObject({ code: "refused" });
    const c = await accepted;
    // A write that fails takes its whole batch with it: the entries are not committed either.
    const failing = ledger.sequencer.execute({
      entries: [note(4)],
      writes: () => [{ sql: "INSERT INTO test_writes (idx, note) VALUES (NULL, 'x')" }],
    });
    await expect(failing).rejects.toThrow();
    const { rows } = await ledger.db.query("SELECT idx, note FROM test_writes ORDER BY idx");
    expect(rows.map((r) => [String(r.idx), r.note])).toEqual(
      c.map((e) => [e.index.toString(), "ok"]),
    );
    expect(ledger.sequencer.head.size).toBe(2n);
  });

  it("keeps the neighbours of a refused command in its batch, in order", async () => {
    const { ledger } = await open();
    const n = 60;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        ledger.sequencer.execute({
          entries: [note(i), note(i + 1000)],
          check: () => {
            if (i % 7 === 3) throw new ApiError(409, "refused", `command ${i}`);
          },
        }),
      ),
    );
    const ok = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, c: r.value }] : []));
    expect(ok).toHaveLength(n - Math.ceil((n - 3) / 7));
    // Each command's two entries are adjacent; the whole log has no hole and a single chain.
    let expected = 0n;
    for (const { i, c } of ok) {
      expect(c.map((e) => e.index)).toEqual([expected, expected + 1n]);
      expect(c.map((e) => (e.entry.payload as { i: number }).i)).toEqual([i, i + 1000]);
      expected += 2n;
    }
    const stored = await listEntries(ledger.db, 0n, 1000n);
    expect(stored).toHaveLength(Number(expected));
    stored.forEach((e, k) => {
      expect(decodeEntry(e.data).subjects).toEqual([{ merchant: M, prev: k === 0 ? null : k - 1 }]);
    });
  });

  it("validates against state staged by earlier commands of the same batch", async () => {
    const { ledger } = await open();
    // A balance that may not go negative, as loyalty will have.
    const balance = ledger.sequencer.state.add(new StagedMap<string, number>());
    balance.load("c_x", 10);
    const spend = (amount: number): CommandDraft => ({
      entries: [note(amount)],
      check: async () => {
        await Promise.resolve(); // an asynchronous check sees the staged state too
        const b = balance.get("c_x") ?? 0;
        if (b < amount) throw new ApiError(409, "insufficient", `balance ${b} < ${amount}`);
        balance.set("c_x", b - amount);
      },
    });
    const r = await Promise.allSettled(
      [spend(4), spend(4), spend(4), spend(2)].map((c) => ledger.sequencer.execute(c)),
    );
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(balance.get("c_x")).toBe(0);
    expect(balance.hasCommitted("c_x")).toBe(true);
  });

  it("derives a payload when the entry is sequenced, from state staged before it", async () => {
    const { ledger } = await open();
    const balance = ledger.sequencer.state.add(new StagedMap<string, number>());
    const earn = (points: number): CommandDraft => ({
      entries: [
        {
          type: "test.earned",
          actor: "test",
          parties: [{ customer: "c_x" }, { merchant: M }],
          sealed: true,
          // The resulting balance is part of the leaf: computed in order, not on arrival.
          payload: () => {
            const after = (balance.get("c_x") ?? 0) + points;
            balance.set("c_x", after);
            return { points, balance: after };
          },
        },
      ],
    });
    const r = await Promise.all(
      [earn(5), earn(7), earn(1)].map((c) => ledger.sequencer.execute(c)),
    );
    expect(r.map(([e]) => e?.entry.payload)).toEqual([
      { points: 5, balance: 5 },
      { points: 7, balance: 12 },
      { points: 1, balance: 13 },
    ]);
    for (const [e] of r) {
      expect(e && encodeEntry(decodeEntry(e.data))).toEqual(e?.data);
      expect(e?.entry.salt).toBeDefined();
    }
  });

  it("leaves out an entry its command's check decided against, with no index or chain link", async () => {
    const { ledger } = await open();
    const command = (extra: boolean): CommandDraft => {
      let wanted = false;
      return {
        entries: [
          note(1),
          {
            ...note(2, { parties: [{ customer: "c_w" }, { merchant: M }] }),
            when: () => wanted,
          },
          note(3),
        ],
        check: () => {
          wanted = extra;
        },
      };
    };
    const without = await ledger.sequencer.execute(command(false));
    expect(without.map((e) => [e.index, e.entry.payload])).toEqual([
      [0n, { i: 1 }],
      [1n, { i: 3 }],
    ]);
    expect(without[1]?.entry.subjects).toEqual([{ merchant: M, prev: 0 }]);
    expect(await ledger.sequencer.headOf("c_w")).toBeUndefined();
    const withIt = await ledger.sequencer.execute(command(true));
    expect(withIt.map((e) => [e.index, e.entry.payload])).toEqual([
      [2n, { i: 1 }],
      [3n, { i: 2 }],
      [4n, { i: 3 }],
    ]);
    expect(withIt[1]?.entry.subjects).toEqual([
      { customer: "c_w", prev: null },
      { merchant: M, prev: 2 },
    ]);
    const audit = await auditLedger(ledger.db, {
      origin: ledger.identity.origin,
      verifierKey: ledger.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
  });

  it("drops the staged state of a batch whose transaction fails, then commits the others", async () => {
    const { ledger } = await open();
    const seen = ledger.sequencer.state.add(new StagedMap<string, number>());
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) =>
        ledger.sequencer.execute({
          entries: [note(i, { type: i === 2 ? "test.boom" : "test.noted" })],
          check: () => seen.set(`c${i}`, i),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect([seen.get("c1"), seen.get("c2"), seen.get("c3")]).toEqual([1, undefined, 3]);
    const stored = await listEntries(ledger.db, 0n, 10n);
    expect(stored.map((e) => (decodeEntry(e.data).payload as { i: number }).i)).toEqual([1, 3]);
    expect(decodeEntry(stored[1]?.data ?? new Uint8Array()).subjects).toEqual([
      { merchant: M, prev: 0 },
    ]);
  });

  it("never writes a command its checks refused, even when its batch's transaction fails", async () => {
    const { ledger } = await open();
    await ledger.sequencer.submit(note(0));
    const { revoked, revoke } = revoker(ledger);
    // The second is refused because of what the first staged; then the first fails to commit.
    const r = await Promise.allSettled([revoke(1, "test.boom"), revoke(2, "test.noted")]);
    expect(r.map((x) => x.status)).toEqual(["rejected", "rejected"]);
    expect((r[1] as PromiseRejectedResult).reason.code).toBe("already_revoked");
    expect(await listEntries(ledger.db, 0n, 10n)).toHaveLength(1);
    expect(revoked.get("k")).toBeUndefined();
  });

  it("acknowledges a batch whose COMMIT landed though its answer was lost, once", async () => {
    const { ledger } = await open();
    const db = ledger.db;
    const real = db.writeAll.bind(db);
    let lose = true;
    db.writeAll = async (statements) => {
      const r = await real(statements);
      if (lose) {
        lose = false;
        throw new Error("connection lost during COMMIT");
      }
      return r;
    };
    const r = await Promise.allSettled([1, 2, 3].map((i) => ledger.sequencer.submit(note(i))));
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    const stored = await listEntries(ledger.db, 0n, 10n);
    expect(stored.map((e) => (decodeEntry(e.data).payload as { i: number }).i)).toEqual([1, 2, 3]);
    expect(ledger.sequencer.head.size).toBe(3n);
    expect((await ledger.sequencer.submit(note(4))).index).toBe(3n);
  });

  it("shows only committed chain heads while a batch is being written", async () => {
    const { ledger } = await open();
    await ledger.sequencer.submit(note(0));
    const release = hold();
    const pending = ledger.sequencer.submit(note(1, { type: "test.slow" }));
    await new Promise((r) => setTimeout(r, 50));
    expect(await ledger.sequencer.headOf(M)).toBe(0n);
    release();
    await pending;
    expect(await ledger.sequencer.headOf(M)).toBe(1n);
  });

  it("sequences the next batch while one is written, and commits it right after", async () => {
    const { ledger } = await open();
    await ledger.sequencer.submit(note(0));
    const release = hold();
    expectHeld();
    const slow = ledger.sequencer.submit(note(1, { type: "test.slow" }));
    await held;
    const checked: number[] = [];
    const next = [2, 3, 4].map((i) =>
      ledger.sequencer.execute({ entries: [note(i)], check: () => void checked.push(i) }),
    );
    await new Promise((r) => setTimeout(r, 50));
    // Checked and sequenced on top of the batch being written, but not committed before it.
    expect(checked).toEqual([2, 3, 4]);
    expect(ledger.sequencer.head.size).toBe(1n);
    expect(await ledger.sequencer.headOf(M)).toBe(0n);
    release();
    await slow;
    const committed = await Promise.all(next);
    expect(committed.map((c) => c[0]?.index)).toEqual([2n, 3n, 4n]);
    expect(committed.map((c) => c[0]?.entry.subjects)).toEqual([
      [{ merchant: M, prev: 1 }],
      [{ merchant: M, prev: 2 }],
      [{ merchant: M, prev: 3 }],
    ]);
    const { rows } = await ledger.db.query("SELECT size FROM ledger_checkpoints ORDER BY size");
    expect(rows.map((r) => Number(r.size))).toEqual([1, 2, 5]);
    expect((await auditLedger(ledger.db, ledger.identity)).problems).toEqual([]);
  });

  it("undoes a batch sequenced on a batch that fails, and commits its commands after", async () => {
    const { ledger } = await open();
    const seen = ledger.sequencer.state.add(new StagedMap<string, number>());
    const run = (i: number, type = "test.noted") =>
      ledger.sequencer.execute({
        entries: [note(i, { type })],
        check: () => seen.set("last", i),
      });
    const release = hold();
    expectHeld();
    // One batch: a slow entry and one the database refuses.
    const first = [run(1, "test.slow"), run(2, "test.boom")];
    await held;
    const second = [run(3), run(4)];
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.get("last")).toBe(4);
    release();
    const outcomes = await Promise.allSettled([...first, ...second]);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const stored = await listEntries(ledger.db, 0n, 10n);
    expect(stored.map((e) => (decodeEntry(e.data).payload as { i: number }).i)).toEqual([1, 3, 4]);
    expect(stored.map((e) => decodeEntry(e.data).subjects?.[0]?.prev)).toEqual([null, 0, 1]);
    expect(seen.get("last")).toBe(4);
    expect(seen.getCommitted("last")).toBe(4);
    expect(seen.depth).toBe(0);
    expect(ledger.sequencer.head.size).toBe(3n);
    expect((await auditLedger(ledger.db, ledger.identity)).problems).toEqual([]);
  });

  it("judges again a command refused on a batch that then fails to commit", async () => {
    const { ledger } = await open();
    const { revoked, revoke } = revoker(ledger);
    const release = hold();
    expectHeld();
    // Batch N: a slow entry, and a revocation the database will refuse.
    const first = [ledger.sequencer.submit(note(1, { type: "test.slow" })), revoke(2, "test.boom")];
    await held;
    // Refused against N's staged state while N is being written...
    const second = revoke(3, "test.noted");
    await new Promise((r) => setTimeout(r, 20));
    release();
    // ...and accepted once N has failed and its revocation is gone.
    const outcomes = await Promise.allSettled([...first, second]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const stored = await listEntries(ledger.db, 0n, 10n);
    expect(stored.map((e) => (decodeEntry(e.data).payload as { i: number }).i)).toEqual([1, 3]);
    expect(revoked.getCommitted("k")).toBe(true);
  });

  it("keeps a refusal judged on a batch that commits", async () => {
    const { ledger } = await open();
    const revoked = ledger.sequencer.state.add(new StagedMap<string, boolean>());
    const release = hold();
    expectHeld();
    const first = ledger.sequencer.execute({
      entries: [note(1, { type: "test.slow" })],
      check: () => revoked.set("k", true),
    });
    await held;
    const second = ledger.sequencer.execute({
      entries: [note(2)],
      check: () => {
        if (revoked.get("k")) throw new ApiError(409, "already_revoked", "already revoked");
      },
    });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await first;
    await expect(second).rejects.toMatchObject({ code: "already_revoked" });
    expect(await listEntries(ledger.db, 0n, 10n)).toHaveLength(1);
  });

  it("waits for the write when the next command does not fit the batch being prepared", async () => {
    const { ledger } = await open(undefined, 4);
    const release = hold();
    expectHeld();
    const slow = ledger.sequencer.submit(note(0, { type: "test.slow" }));
    await held;
    // Three entries fill most of the next batch; the 3-entry command goes in the one after.
    const singles = [1, 2, 3].map((i) => ledger.sequencer.submit(note(i)));
    const triple = ledger.sequencer.execute({ entries: [note(4), note(5), note(6)] });
    await new Promise((r) => setTimeout(r, 50));
    release();
    await slow;
    const indices = [...(await Promise.all(singles)), ...(await triple)].map((c) => c.index);
    expect(indices).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    const { rows } = await ledger.db.query("SELECT size FROM ledger_checkpoints ORDER BY size");
    expect(rows.map((r) => Number(r.size))).toEqual([1, 4, 7]);
  });

  it("refuses parties that are not ids, or named twice, before anything is written", async () => {
    const { ledger } = await open();
    await expect(
      ledger.sequencer.submit(note(1, { parties: [{ customer: "not a customer id" }] })),
    ).rejects.toMatchObject({ status: 400, code: "invalid_entry" });
    await expect(
      ledger.sequencer.submit(note(2, { parties: [{ merchant: M }, { merchant: M }] })),
    ).rejects.toMatchObject({ status: 400, code: "invalid_entry" });
    expect(ledger.sequencer.head.size).toBe(0n);
  });

  it("judges expiry at the time the entries get, so a queued replay cannot outlive its nonce", async () => {
    const { ledger, clock } = await open();
    const sk = randomBytes(32);
    const did = encodeDidKey({ type: "Ed25519", publicKey: ed25519.getPublicKey(sk) });
    const expires = clock.now() + 120_000;
    const signed = signCommand(
      {
        v: 1,
        type: "test.note",
        ledger: ledger.identity.origin,
        actor: did,
        merchant: M,
        nonce: randomBytes(16).toString("base64url"),
        expires: new Date(expires).toISOString(),
        payload: {},
      },
      sk,
    );
    const run = () => ledger.sequencer.execute({ entries: [note(9)], signed });
    await run();
    clock.set(expires - 1);
    // A command whose check waits keeps the sequencer from sequencing what queues behind it.
    const release = hold();
    const waiting = gate;
    const blocker = ledger.sequencer.execute({
      entries: [note(1)],
      check: async () => {
        await waiting;
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    // Queued before the command expires, sequenced after: by then its nonce may be pruned.
    const replay = expect(run()).rejects.toMatchObject({ code: "command_expired" });
    clock.set(expires + 61_000);
    release();
    await blocker;
    await replay;
    const stored = await listEntries(ledger.db, 0n, 10n);
    expect(stored.filter((e) => decodeEntry(e.data).signed)).toHaveLength(1);
  });

  it("stamps entries from the injected clock, never backwards in index order", async () => {
    const { ledger, clock } = await open();
    clock.set(Date.UTC(2026, 5, 1, 12));
    const a = await ledger.sequencer.submit(note(1));
    clock.advance(-60_000);
    const b = await ledger.sequencer.submit(note(2));
    clock.advance(120_000);
    const c = await ledger.sequencer.submit(note(3));
    expect(a.entry.time).toBe("2026-06-01T12:00:00.000Z");
    expect(b.entry.time).toBe(a.entry.time);
    expect(c.entry.time).toBe("2026-06-01T12:01:00.000Z");
  });

  it("audits a log upgraded from before chains: old entries need no subjects, new ones do", async () => {
    const { ledger } = await open();
    const attestation = (i: number, parties?: EntryDraft["parties"]): EntryDraft => ({
      type: "attestation.created",
      actor: "test",
      payload: { merchantId: M, digest: String(i).padStart(64, "0") },
      ...(parties ? { parties } : {}),
    });
    // As the node wrote them before this change: no subjects at all.
    for (let i = 0; i < 3; i++) await ledger.sequencer.submit(attestation(i));
    for (let i = 3; i < 5; i++) await ledger.sequencer.submit(attestation(i, [{ merchant: M }]));
    const audit = () =>
      auditLedger(ledger.db, {
        origin: ledger.identity.origin,
        verifierKey: ledger.identity.verifierKey,
        entries: () => entryAuditorOf(domains),
      });
    expect((await audit()).problems).toEqual([]);
    // After the first entry with subjects, an entry about a merchant that omits it is a gap.
    await ledger.sequencer.submit(attestation(5));
    expect((await audit()).problems).toEqual([
      { kind: "chain", at: "5", message: `concerns ${M} but does not list it in subjects` },
    ]);
  });

  it("passes audit over commands, chains and sealed entries", async () => {
    const { ledger } = await open();
    for (let i = 0; i < 5; i++) {
      await ledger.sequencer.execute({
        entries: [
          note(i, { sealed: i % 2 === 0, parties: [{ customer: `c_${i % 2}` }, { merchant: M }] }),
        ],
      });
    }
    const r = await auditLedger(ledger.db, {
      origin: ledger.identity.origin,
      verifierKey: ledger.identity.verifierKey,
      entries: () => new EntryAuditor([]),
    });
    expect(r.problems).toEqual([]);
    expect(r.entries).toBe(5);
  });
});
