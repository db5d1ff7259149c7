import { describe, expect, it } from "vitest";
import { coalesce, joinInserts } from "./bulk.js";
import type { Statement } from "./database.js";

const keyRow = (id: string): Statement => ({
  sql: "INSERT INTO keys (id, status, wrapped) VALUES ($1, 'active', decode($2, 'hex'))",
  params: [id, "00ff"],
  bulk: true,
});
const index = (id: string): Statement => ({
  sql: "INSERT INTO idx (id, h) VALUES ($1, $2) ON CONFLICT DO NOTHING",
  params: [id, `h-${id}`],
  bulk: true,
});
const update = (id: string): Statement => ({
  sql: "UPDATE keys SET status = 'x' WHERE id = $1",
  params: [id],
});

describe("coalesce", () => {
  it("leaves a list without bulk statements as it is", () => {
    const list = [update("a"), update("b")];
    expect(coalesce(list)).toBe(list);
  });

  it("joins the bulk INSERTs of one text where the first stood, renumbering their parameters", () => {
    const out = coalesce([keyRow("a"), index("a"), update("a"), keyRow("b"), index("b")]);
    expect(out.map((s) => s.sql)).toEqual([
      "INSERT INTO keys (id, status, wrapped) VALUES ($1, 'active', decode($2, 'hex')), ($3, 'active', decode($4, 'hex'))",
      "INSERT INTO idx (id, h) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING",
      "UPDATE keys SET status = 'x' WHERE id = $1",
    ]);
    expect(out[0]?.params).toEqual(["a", "00ff", "b", "00ff"]);
    expect(out[1]?.params).toEqual(["a", "h-a", "b", "h-b"]);
    expect(out[0]?.unnamed).toBe(true);
    // The statements that are not bulk keep their order and their names.
    expect(out[2]).toEqual(update("a"));
  });

  it("keeps a lone bulk statement as written", () => {
    expect(coalesce([keyRow("a")])).toEqual([{ sql: keyRow("a").sql, params: ["a", "00ff"] }]);
  });

  it("splits under PostgreSQL's parameter limit", () => {
    const wide: Statement[] = Array.from({ length: 2500 }, (_, i) => ({
      sql: `INSERT INTO t (${Array.from({ length: 40 }, (_, k) => `c${k}`).join(", ")}) VALUES (${Array.from({ length: 40 }, (_, k) => `$${k + 1}`).join(", ")})`,
      params: Array.from({ length: 40 }, () => i),
      bulk: true,
    }));
    const out = joinInserts(wide);
    expect(out.length).toBeGreaterThan(1);
    for (const s of out) expect(s.params?.length).toBeLessThanOrEqual(65_535);
    expect(out.reduce((n, s) => n + (s.params?.length ?? 0), 0)).toBe(2500 * 40);
    expect(out[out.length - 1]?.params?.at(-1)).toBe(2499);
  });

  it("refuses a bulk statement that is not one INSERT … VALUES", () => {
    expect(() =>
      coalesce([
        { ...update("a"), bulk: true },
        { ...update("b"), bulk: true },
      ]),
    ).toThrow(/must be one INSERT/);
  });
});
