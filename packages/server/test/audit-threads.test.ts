import { afterEach, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { EntryChecker } from "../src/ledger/entry-checks.js";
import { type Ledger, openLedger } from "../src/node.js";
import { type Backend, backends } from "../src/test-support/backends.js";

describe.each(backends)("audit on a second thread, on $name", (backend: Backend) => {
  let ledger: Ledger | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await ledger?.sequencer.close();
    await ledger?.db.close();
    cleanup?.();
    ledger = undefined;
  });

  it("finds what the single-threaded audit finds, in the same order", async () => {
    const c = backend.config({ batchMax: 50 });
    cleanup = c.cleanup;
    const l = await openLedger(c.config, { schema: c.schema });
    ledger = l;
    await Promise.all(
      Array.from({ length: 700 }, (_, i) =>
        l.sequencer.submit({ type: "test.note", actor: "t", payload: { i } }),
      ),
    );
    const opts = {
      origin: l.identity.origin,
      verifierKey: l.identity.verifierKey,
      pageSize: 64,
      maxProblems: 1000,
    };
    // The audit checks pages itself until the thread is up: this one is up from the start.
    const checker = new EntryChecker();
    await checker.started;
    const threaded = await auditLedger(l.db, { ...opts, checker });
    expect(threaded.problems).toEqual([]);
    expect(threaded.entries).toBe(700);
    expect(checker.pages).toBe(Math.ceil(700 / 64));

    // One entry's bytes changed, another's type column, a third no longer JSON.
    await l.db.query(
      "UPDATE ledger_entries SET data = decode(replace(encode(data, 'hex'), encode('321', 'hex'), encode('391', 'hex')), 'hex') WHERE idx = 321",
    );
    await l.db.query("UPDATE ledger_entries SET type = 'test.other' WHERE idx = 400");
    await l.db.query("UPDATE ledger_entries SET data = decode('7b', 'hex') WHERE idx = 650");
    const one = await auditLedger(l.db, { ...opts, threads: false });
    const two = await auditLedger(l.db, { ...opts, checker });
    await checker.close();
    // Unless the thread happens to start before the audit ends, the audit checks pages itself.
    const alone = await auditLedger(l.db, { ...opts, threads: true });
    expect(alone.problems).toEqual(one.problems);
    expect(one.problems.length).toBeGreaterThan(3);
    expect(two.problems).toEqual(one.problems);
    expect(two.problems.slice(0, 2)).toEqual([
      { kind: "entry", at: "321", message: "its bytes do not hash to the stored leaf hash" },
      expect.objectContaining({ kind: "checkpoint" }),
    ]);
    expect(two.problems).toContainEqual({
      kind: "entry",
      at: "400",
      message: "stored type or actor differs from its bytes",
    });
    expect(two.problems).toContainEqual(
      expect.objectContaining({
        kind: "entry",
        at: "650",
        message: expect.stringMatching(/^not a canonical entry/),
      }),
    );
  });
});
