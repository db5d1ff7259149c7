import { afterEach, describe, expect, it } from "vitest";
import { checkServerVersion, type Database, openDatabase } from "../src/db/database.js";
import { type Backend, backends } from "../src/test-support/backends.js";

describe.each(backends)("Database.writeAll on $name", (backend: Backend) => {
  let db: Database | undefined;
  let cleanup: (() => void) | undefined;
  const open = async () => {
    const c = backend.config();
    cleanup = c.cleanup;
    db = await openDatabase({
      url: c.config.databaseUrl,
      dataDir: c.config.databaseUrl ? undefined : `${c.config.dataDir}/pgdata`,
      schema: c.schema,
    });
    await db.exec("CREATE TABLE w (n int PRIMARY KEY, label text)");
    return db;
  };
  afterEach(async () => {
    await db?.close();
    cleanup?.();
    db = undefined;
  });
  const rows = async (d: Database) =>
    (await d.query<{ n: number }>("SELECT n FROM w ORDER BY n")).rows.map((r) => r.n);
  const insert = (n: number) => ({
    sql: "INSERT INTO w (n, label) VALUES ($1, $2)",
    params: [n, `#${n}`],
  });

  it("runs the statements in order, in one transaction", async () => {
    const d = await open();
    await d.writeAll([
      insert(1),
      insert(2),
      { sql: "UPDATE w SET n = n + 10 WHERE n = $1", params: [1] },
    ]);
    expect(await rows(d)).toEqual([2, 11]);
  });

  it("writes nothing when one statement fails, and reports that statement's error", async () => {
    const d = await open();
    await d.writeAll([insert(1)]);
    await expect(d.writeAll([insert(2), insert(1), insert(3)])).rejects.toThrow(/duplicate key/);
    await expect(d.writeAll([insert(4), { sql: "SELECT 1/0" }])).rejects.toThrow(
      /division by zero/,
    );
    expect(await rows(d)).toEqual([1]);
    // The connection is fine for the next transaction.
    await d.writeAll([insert(5)]);
    expect(await rows(d)).toEqual([1, 5]);
  });

  // On PostgreSQL a value the driver cannot serialise would otherwise fail its statement on
  // the client alone while the rest of the pipeline, COMMIT included, went out. (PGlite runs
  // the transaction in-process and serialises such a value itself.)
  it.runIf(backend.name === "postgres")(
    "sends nothing when a value cannot be sent, so nothing is written",
    async () => {
      const d = await open();
      const unsendable = {
        sql: "INSERT INTO w (n, label) VALUES ($1, $2)",
        params: [2, { n: 1n }],
      };
      await expect(d.writeAll([insert(1), unsendable, insert(3)])).rejects.toThrow(/BigInt/);
      expect(await rows(d)).toEqual([]);
      await d.writeAll([insert(4)]);
      expect(await rows(d)).toEqual([4]);
    },
  );

  it("opens a new connection when the one it pipelines on is lost", async () => {
    const d = await open();
    // The writer records which server process it is, so that only that one is ended.
    await d.writeAll([{ sql: "INSERT INTO w (n, label) SELECT 1, pg_backend_pid()::text" }]);
    if (d.kind === "postgres") {
      const { rows: r } = await d.query<{ label: string }>("SELECT label FROM w WHERE n = 1");
      await d.query("SELECT pg_terminate_backend($1::int)", [Number(r[0]?.label)]);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The first write after the loss may fail with it; the one after goes through.
    await d.writeAll([insert(2)]).catch(() => {});
    await d.writeAll([insert(3)]);
    expect(await rows(d)).toContain(3);
  });
});

describe("the PostgreSQL server's version", () => {
  it("is refused below 14, by name, before any migration runs", () => {
    expect(() => checkServerVersion(130012)).toThrow(
      "PostgreSQL 14 or later is required; this server is 13",
    );
    expect(() => checkServerVersion(Number.NaN)).toThrow(/unknown version/);
    expect(() => checkServerVersion(140000)).not.toThrow();
    expect(() => checkServerVersion(150018)).not.toThrow();
  });
});
