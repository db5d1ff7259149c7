import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import { zhCN } from "../i18n/zh-CN.js";
import { ISSUE_CODES, issueColumns, knownIssue } from "./issue-text.js";

describe("an import issue in words", () => {
  it("keeps the columns the node's reason names, each once", () => {
    expect(issueColumns('column "E-mail": not an email address')).toEqual(["E-mail"]);
    expect(
      issueColumns(
        'column "邮箱": not an email address; column "Tel": not a possible phone number',
      ),
    ).toEqual(["邮箱", "Tel"]);
    expect(issueColumns('column "a": x; column "a": y')).toEqual(["a"]);
    expect(issueColumns("no name, email, phone or channel identity")).toEqual([]);
  });

  it("knows a code by the list, and has words for each in both languages", () => {
    expect(knownIssue("invalid_email")).toBe(true);
    expect(knownIssue("something_new")).toBe(false);
    for (const code of ISSUE_CODES) {
      expect(en.import.issueCodes[code], code).toBeTruthy();
      expect(zhCN.import.issueCodes[code], code).toBeTruthy();
    }
  });
});
