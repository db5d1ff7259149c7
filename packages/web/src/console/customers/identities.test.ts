import { describe, expect, it } from "vitest";
import { ConsoleApiError } from "../api/client.js";
import { identitiesChanged, identityRowErrors, rowsOverLimit } from "./identities.js";

const current = [
  { type: "wechat", value: "wxid_xiaoming" },
  { type: "instagram", value: "xiaoming" },
  { type: "whatsapp", value: "+8613800138010" },
];

describe("channel identities in the edit form", () => {
  it("see no change in what the node would store the same", () => {
    expect(identitiesChanged([...current].reverse(), current)).toBe(false);
    expect(
      identitiesChanged(
        [
          { type: "wechat", value: " wxid_xiaoming " },
          { type: "instagram", value: "@XiaoMing" },
          { type: "whatsapp", value: "+86 138 0013 8010" },
        ],
        current,
      ),
    ).toBe(false);
    expect(identitiesChanged(current.slice(1), current)).toBe(true);
    expect(identitiesChanged([...current, { type: "card", value: "A-1" }], current)).toBe(true);
    const moved = [{ type: "app", value: "wxid_xiaoming" }, ...current.slice(1)];
    expect(identitiesChanged(moved, current)).toBe(true);
  });

  it("find the rows past their channel's limit, a repeated row counted once", () => {
    const wechat = (n: number) => ({ type: "wechat", value: `w${n}` });
    expect(rowsOverLimit([1, 2, 3, 4, 5].map(wechat))).toEqual([]);
    expect(rowsOverLimit([1, 2, 3, 4, 5, 6, 7].map(wechat))).toEqual([5, 6]);
    expect(rowsOverLimit([1, 1, 2, 3, 4, 5].map(wechat))).toEqual([]);
    const cards = Array.from({ length: 10 }, (_, i) => ({ type: "card", value: `c${i}` }));
    expect(rowsOverLimit(cards)).toEqual([]);
  });

  it("put the node's refusals on the rows they are about", () => {
    const sent = [...current, { type: "wechat", value: "wxid_lina" }];
    // Another customer holds a WeChat ID: the one that is new here, not the one kept.
    const inUse = new ConsoleApiError(
      409,
      "identity_in_use",
      "another customer already holds this wechat",
      {
        customerId: "c_1",
        type: "wechat",
      },
    );
    expect(identityRowErrors(inUse, sent, current)).toEqual([
      { index: 3, message: "another customer already holds this wechat" },
    ]);
    // An email held elsewhere is the email field's business.
    const email = new ConsoleApiError(
      409,
      "identity_in_use",
      "another customer already holds this email",
      {
        type: "email",
      },
    );
    expect(identityRowErrors(email, sent, current)).toEqual([]);
    // A WhatsApp number the node cannot read, named in its details.
    const bad = [...current, { type: "whatsapp", value: "+12" }];
    const phone = new ConsoleApiError(
      400,
      "invalid_phone",
      '"+12" is not a possible phone number: TOO_SHORT',
      { value: "+12", reason: "TOO_SHORT" },
    );
    expect(identityRowErrors(phone, bad, current)).toEqual([{ index: 3, message: phone.message }]);
    // The same code about the phones field: no row of this list.
    const other = new ConsoleApiError(400, "invalid_phone", '"12" is not a possible phone number', {
      value: "12",
    });
    expect(identityRowErrors(other, bad, current)).toEqual([]);
    // A validation issue names the row by its path.
    const issues = new ConsoleApiError(400, "invalid_request", "…", [
      { path: "body/name", message: "too long" },
      { path: "body/identities/1/value", message: "must not contain control characters" },
    ]);
    expect(identityRowErrors(issues, sent, current)).toEqual([
      { index: 1, message: "must not contain control characters" },
    ]);
    // A handle that is empty once its @ is taken off.
    const empty = new ConsoleApiError(400, "invalid_identity", "an empty instagram identity", {
      type: "instagram",
    });
    expect(
      identityRowErrors(empty, [...current, { type: "instagram", value: "@" }], current),
    ).toEqual([{ index: 3, message: empty.message }]);
    const many = new ConsoleApiError(
      400,
      "too_many_identities",
      "a customer holds at most 5 wechat identities",
      { type: "wechat", max: 5 },
    );
    expect(identityRowErrors(many, sent, current)).toEqual([{ index: 3, message: many.message }]);
    expect(identityRowErrors(new Error("offline"), sent, current)).toEqual([]);
  });
});
