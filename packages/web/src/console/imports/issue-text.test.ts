import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import { zhCN } from "../i18n/zh-CN.js";
import {
  FILE_CODES,
  failureKey,
  ISSUE_CODES,
  issueColumns,
  knownFileError,
  knownIssue,
} from "./issue-text.js";

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

  it("knows a refusal of the whole file by its code, with words for each in both languages", () => {
    expect(knownFileError("empty_file")).toBe(true);
    expect(knownFileError("invalid_email")).toBe(false);
    expect(knownFileError("forbidden")).toBe(false);
    for (const code of FILE_CODES) {
      expect(en.import.fileCodes[code], code).toBeTruthy();
      expect(zhCN.import.fileCodes[code], code).toBeTruthy();
    }
    // The node's words name a column as a row's reason does: the console keeps it.
    expect(issueColumns('the header has the column "E-mail" twice')).toEqual(["E-mail"]);
  });

  it("says why an import failed by its code, or as the node said it", () => {
    expect(failureKey("invalid_utf8")).toBe("import.fileCodes.invalid_utf8");
    expect(failureKey("upload_failed")).toBe("import.fileCodes.upload_failed");
    expect(failureKey("node_stopped")).toBe("import.failures.node_stopped");
    // A database's error, or a code this console does not know: the node's own words.
    expect(failureKey("processing_failed")).toBeNull();
    expect(failureKey("something_new")).toBeNull();
    expect(failureKey(null)).toBeNull();
    expect(failureKey(undefined)).toBeNull();
  });
});
