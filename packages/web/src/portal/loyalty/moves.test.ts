import type { Command } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { describeCommand } from "../signing/describe.js";
import {
  discountProblem,
  minimumDiscount,
  timeLeft,
  transferProblems,
  usedOf,
  worth,
} from "./moves-form.js";
import type { Redemption } from "./schemas.js";

const command = (type: string, payload: Command["payload"]): Command => ({
  v: 1,
  type,
  ledger: "http://node",
  actor: "did:key:z6Mk",
  merchant: "m_1",
  nonce: "n",
  expires: "2026-12-07T10:00:00.000Z",
  payload,
});

describe("the words of points that move, before they are signed", () => {
  it("names a transfer's points and recipient", () => {
    const d = describeCommand(command("points.transfer", { to: "c_bo", points: 1500 }), "Café");
    expect(d).toEqual({
      key: "signing.types.points.transfer",
      params: { merchant: "Café", type: "points.transfer", to: "c_bo", points: "1,500" },
      known: true,
    });
  });

  it("names a discount's points, a reward by the name and cost the page gives", () => {
    expect(describeCommand(command("redemption.hold", { points: 100 }), "Café").params.points).toBe(
      "100",
    );
    const reward = describeCommand(command("redemption.hold", { rewardId: "rw_mug" }), "Café", {
      rw_mug: "Coffee mug",
      "rw_mug#points": "200 points",
    });
    expect(reward.key).toBe("signing.types.redemptionReward");
    expect(reward.params).toMatchObject({ reward: "Coffee mug", points: "200 points" });
    // Without the page's names, the id as it is and no invented cost.
    const bare = describeCommand(command("redemption.hold", { rewardId: "rw_mug" }), "Café");
    expect(bare.params).toMatchObject({ reward: "rw_mug", points: "?" });
  });

  it("says the points by the programme's name, one in the singular", () => {
    const stars = { pointName: "stars", language: "en" };
    const one = describeCommand(command("redemption.hold", { points: 1 }), "Café", {}, stars);
    expect(one.params.points).toBe("1 star");
    const fifty = describeCommand(
      command("points.transfer", { to: "c_bo", points: 1500 }),
      "Café",
      {},
      stars,
    );
    expect(fifty.params.points).toBe("1,500 stars");
    const zh = describeCommand(
      command("redemption.hold", { points: 1 }),
      "Café",
      {},
      {
        pointName: "积分",
        language: "zh-CN",
      },
    );
    expect(zh.params.points).toBe("1 积分");
  });

  it("names a release by its code when the page knows it", () => {
    const d = describeCommand(command("redemption.release", { redemptionId: "rd_1" }), "Café", {
      rd_1: "K7QX-9M2P",
    });
    expect(d.params.redemption).toBe("K7QX-9M2P");
  });
});

describe("the Send form's checks before signing", () => {
  const ok = { to: "c_bo", points: "10", message: "" };
  it("accepts a customer id, whole points within the balance and a short message", () => {
    expect(transferProblems({ ...ok, message: "hi" }, "c_ana", 10)).toEqual({});
  });
  it("refuses what the node would: a malformed or own id, bad or too many points, a long message", () => {
    expect(transferProblems({ ...ok, to: "bo@example.com" }, "c_ana", 10).to).toBe(
      "loyalty.transfer.errors.to",
    );
    expect(transferProblems({ ...ok, to: " c_ana " }, "c_ana", 10).to).toBe(
      "loyalty.transfer.errors.self",
    );
    for (const points of ["0", "1.5", "-3", "", "1e3", "abc"]) {
      expect(transferProblems({ ...ok, points }, "c_ana", 10000).points, points).toBe(
        "loyalty.transfer.errors.points",
      );
    }
    expect(transferProblems({ ...ok, points: "11" }, "c_ana", 10).points).toBe(
      "loyalty.transfer.errors.balance",
    );
    expect(transferProblems({ ...ok, message: "x".repeat(501) }, "c_ana", 10).message).toBe(
      "loyalty.transfer.errors.message",
    );
  });
});

describe("the Spend page's figures", () => {
  it("values points as the node does, rounded down", () => {
    expect(worth(100, 100)).toBe(100);
    expect(worth(150, 33)).toBe(49);
    expect(worth(1, 50)).toBe(0);
  });

  it("offers no discount below the points worth one minor unit, as the node refuses", () => {
    expect(minimumDiscount(100)).toBe(1);
    expect(minimumDiscount(50)).toBe(2);
    expect(minimumDiscount(33)).toBe(4);
    expect(minimumDiscount(1_000)).toBe(1);
    expect(minimumDiscount(0)).toBeNull();
    for (const v of [1, 7, 33, 50, 99, 100, 101, 250]) {
      const min = minimumDiscount(v) as number;
      expect(worth(min, v), `${v}`).toBeGreaterThanOrEqual(1);
      expect(worth(min - 1, v), `${v}`).toBe(0);
    }
    expect(discountProblem("1", 500, 50)).toBe("loyalty.redeem.errors.minimum");
    expect(discountProblem("2", 500, 50)).toBeUndefined();
    expect(discountProblem("2", 1, 50)).toBe("loyalty.redeem.errors.balance");
    expect(discountProblem("100", 500, 0)).toBe("loyalty.redeem.errors.minimum");
    for (const points of ["0", "1.5", "-3", "", "abc"]) {
      expect(discountProblem(points, 500, 50), points).toBe("loyalty.redeem.errors.points");
    }
  });

  it("counts held and captured redemptions of a reward toward its limit", () => {
    const r = (status: Redemption["status"], id = "rw_mug") =>
      ({ reward: { id, version: 1 }, status }) as Redemption;
    expect(
      usedOf("rw_mug", [r("held"), r("captured"), r("released"), r("expired"), r("held", "rw_x")]),
    ).toBe(2);
  });

  it("counts down to the timeout, then says it has passed", () => {
    const at = Date.parse("2026-12-07T10:00:00.000Z");
    expect(timeLeft("2026-12-07T10:15:00.000Z", at)).toBe("15:00");
    expect(timeLeft("2026-12-07T10:00:09.500Z", at)).toBe("00:09");
    expect(timeLeft("2026-12-07T12:01:05.000Z", at)).toBe("2:01:05");
    expect(timeLeft("2026-12-07T10:00:00.000Z", at)).toBeNull();
    expect(timeLeft("not a time", at)).toBeNull();
  });
});
