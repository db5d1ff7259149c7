import type { Entry } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import type { CommittedEntry } from "../ledger/sequencer.js";
import { ORDER_RECORDED, POINTS_AWARDED } from "./entries.js";
import { ordersProjector } from "./projections.js";

const time = "2026-01-03T10:00:00.000Z";
const committed = (index: bigint, type: string, payload: unknown): CommittedEntry => ({
  index,
  entry: { type, time, payload } as unknown as Entry,
  data: new Uint8Array(),
  leafHash: new Uint8Array(),
});
const order = (index: bigint, orderId: string) =>
  committed(index, ORDER_RECORDED, {
    merchantId: "m_1",
    customerId: "c_1",
    orderId,
    amount: 1000,
    currency: "EUR",
    channel: "web",
    items: [],
    occurredAt: time,
  });
const awarded = (index: bigint, orderId: string) =>
  committed(index, POINTS_AWARDED, {
    merchantId: "m_1",
    customerId: "c_1",
    orderId,
    order: Number(index) - 1,
    context: { order: { amount: 1000 } },
    awards: [],
    points: 0,
    lot: null,
  });

describe("the orders projector", () => {
  it("inserts an order's row whole when its points.awarded entry is among the entries", () => {
    const s = ordersProjector.statements([order(10n, "o-1"), awarded(11n, "o-1")]);
    expect(s).toHaveLength(1);
    expect(s[0]?.sql).toMatch(/^INSERT INTO loyalty_orders .*context\)/s);
    expect(s[0]?.params?.slice(9)).toEqual(["10", "0", "11", '{"order":{"amount":1000}}']);
  });

  it("updates the row when the order's entry is not among them (a rebuild's page boundary)", () => {
    const first = ordersProjector.statements([order(10n, "o-1")]);
    expect(first).toHaveLength(1);
    expect(first[0]?.params).toHaveLength(10);
    const then = ordersProjector.statements([awarded(11n, "o-1"), order(12n, "o-2")]);
    expect(then.map((x) => x.sql.trim().split(/\s+/).slice(0, 3).join(" "))).toEqual([
      "UPDATE loyalty_orders SET",
      "INSERT INTO loyalty_orders",
    ]);
    expect(then[0]?.params).toEqual(["m_1", "o-1", "0", "11", '{"order":{"amount":1000}}']);
  });

  it("does not fold an awarded entry into another order's row", () => {
    const s = ordersProjector.statements([order(10n, "o-1"), awarded(11n, "o-2")]);
    expect(s.map((x) => x.sql.trim().split(/\s+/)[0])).toEqual(["INSERT", "UPDATE"]);
    expect(s[0]?.params).toHaveLength(10);
  });
});
