import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import { zhCN } from "../i18n/zh-CN.js";
import { changedFields, TIMELINE_FIELDS } from "./changed-fields.js";

describe("a profile entry's changed fields", () => {
  it("are its personal fields then its facts, each once, older identity names shortened", () => {
    expect(
      changedFields({
        fields: { name: "x", "identities.wechat": "y", card: "z" },
        facts: { stage: "loyal", channels: ["card"], birthMonth: 3 },
      }),
    ).toEqual(["name", "wechat", "card", "stage", "channels", "birthMonth"]);
    expect(changedFields({ facts: { wechat: 1 }, fields: { wechat: 1 } })).toEqual(["wechat"]);
    expect(changedFields(null)).toEqual([]);
    expect(changedFields({ fields: "not an object" })).toEqual([]);
  });

  it("each have words in both languages", () => {
    for (const f of TIMELINE_FIELDS) {
      expect(en.timeline.fieldNames[f], f).toBeTruthy();
      expect(zhCN.timeline.fieldNames[f], f).toBeTruthy();
    }
  });
});
