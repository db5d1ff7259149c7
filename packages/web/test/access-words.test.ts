import { describe, expect, it } from "vitest";
import { ACCESS_ACTIONS, CATEGORIES } from "../../server/src/privacy/access-log.js";
import { BASES, CONSENT_PURPOSES } from "../../server/src/privacy/purposes.js";
import { ROLES } from "../../server/src/tenancy/roles.js";
import { en as consoleEn } from "../src/console/i18n/en.js";
import { zhCN as consoleZh } from "../src/console/i18n/zh-CN.js";
import { actionOf, basisOf } from "../src/lib/access-words.js";
import { en } from "../src/portal/i18n/en.js";
import { zhCN } from "../src/portal/i18n/zh-CN.js";

// The portal's data-use log shows every record the node can write in words, in both languages:
// each action the node records (and each one refused for want of consent), each role (a partner
// reading under a consent too), each basis, category and catalogue purpose. A record shown as a
// bare code ("read_refused", "points") is what this guards against. The console's access
// records name every action too.

describe("the words of the data-use log", () => {
  const catalogues = { en: en.dataUse, "zh-CN": zhCN.dataUse };

  it("name every action the node records, in English and Simplified Chinese", () => {
    for (const [lang, words] of Object.entries(catalogues)) {
      const missing = ACCESS_ACTIONS.filter(
        (a) =>
          !(actionOf(a).key in words.actions) || !(actionOf(`${a}_refused`).key in words.actions),
      );
      expect(missing, lang).toEqual([]);
    }
  });

  it("name every action in the console too, in English and Simplified Chinese", () => {
    for (const [lang, words] of Object.entries({
      en: consoleEn.access,
      "zh-CN": consoleZh.access,
    })) {
      const missing = ACCESS_ACTIONS.filter((a) => !(actionOf(a).key in words.actions));
      expect(missing, lang).toEqual([]);
    }
  });

  it("name every role, basis, category and catalogue purpose", () => {
    for (const [lang, words] of Object.entries(catalogues)) {
      expect(
        [...ROLES, "partner"].filter((r) => !(r in words.roles)),
        lang,
      ).toEqual([]);
      expect(
        BASES.filter((b) => !(b in words.bases)),
        lang,
      ).toEqual([]);
      expect(
        CATEGORIES.filter((c) => !(c in words.categories)),
        lang,
      ).toEqual([]);
      expect(
        [...CONSENT_PURPOSES, "customer_service"].filter((p) => !(p in words.purposes)),
        lang,
      ).toEqual([]);
    }
  });

  it("read a refused use as refused, whatever its action, and a consent by its id", () => {
    expect(actionOf("read_refused")).toEqual({ key: "read", refused: true });
    expect(actionOf("partner_read_refused")).toEqual({ key: "partner_read", refused: true });
    expect(actionOf("subject-request.export")).toEqual({
      key: "subject_request_export",
      refused: false,
    });
    expect(actionOf("segment export")).toEqual({ key: "segment_export", refused: false });
    expect(basisOf({ basis: "consent", action: "read_refused" })).toEqual({ kind: "no_consent" });
    expect(basisOf({ basis: "cn_abc123", action: "read" })).toEqual({
      kind: "consent",
      consentId: "cn_abc123",
    });
    expect(basisOf({ basis: "contract", action: "points" })).toEqual({
      kind: "basis",
      key: "contract",
    });
  });
});
