import { ed25519 } from "@noble/curves/ed25519.js";
import { type Command, encodeBase64Url, utf8Encode } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import { zhCN } from "../i18n/zh-CN.js";
import { describeCommand } from "../signing/describe.js";
import { checkReceipt, decodeReceipt, ReceiptError } from "./receipt.js";
import {
  CONSENT_CATEGORIES,
  CONSENT_METHODS,
  CONSENT_PURPOSES,
  CONSENT_STATUSES,
  type ConsentView,
  ENDED_REASONS,
  REQUEST_KINDS,
  REQUEST_STATUSES,
} from "./schemas.js";
import {
  addMonths,
  durationsWithin,
  endOfDay,
  grantPayload,
  lastDay,
  narrowDefaults,
  narrowPayload,
  narrowProblem,
  untilProblem,
} from "./terms.js";

const NOW = Date.UTC(2026, 0, 31, 12);

const consent: ConsentView = {
  id: "cn_1",
  merchantId: "m_shop",
  grantee: "m_shop",
  purposes: ["marketing_email", "analytics"],
  categories: ["contact", "loyalty"],
  validFrom: "2026-01-01T00:00:00.000Z",
  validUntil: "2027-01-31T12:00:00.123Z",
  revokeOn: [],
  method: "signature",
  status: "active",
  endedReason: null,
  endedAt: null,
  grantedAt: "2026-01-01T00:00:00.000Z",
  entryIndex: 7,
  lastEntryIndex: 7,
};

describe("a consent's terms", () => {
  it("end a calendar span from now, or at the end of a chosen day, within the longest term", () => {
    expect(new Date(addMonths(NOW, 1)).toISOString()).toBe("2026-02-28T12:00:00.000Z");
    expect(new Date(addMonths(NOW, 12)).toISOString()).toBe("2027-01-31T12:00:00.000Z");
    expect(new Date(endOfDay("2026-03-01")).toISOString()).toBe("2026-03-01T23:59:59.000Z");
    expect(endOfDay("2026-02-30")).toBeNaN();
    expect(durationsWithin(NOW, 1830)).toEqual(["1", "3", "6", "12", "24", "60", "date"]);
    expect(durationsWithin(NOW, 400)).toEqual(["1", "3", "6", "12", "date"]);
    expect(lastDay(NOW, 1830)).toBe("2031-02-03");
    const form = {
      purposes: ["analytics", "marketing_email"],
      categories: ["contact"],
      grantee: "m_shop",
      duration: "date" as const,
      until: "2026-01-31",
    };
    expect(untilProblem(form, NOW, 1830)).toBe("consents.errors.past");
    expect(untilProblem({ ...form, until: "2031-02-04" }, NOW, 1830)).toBe(
      "consents.errors.tooLong",
    );
    expect(untilProblem({ ...form, until: "2031-02-03" }, NOW, 1830)).toBeUndefined();
    expect(untilProblem({ ...form, until: "31/12/2026" }, NOW, 1830)).toBe("consents.errors.date");
    expect(untilProblem({ ...form, duration: "12", until: "" }, NOW, 1830)).toBeUndefined();
    // Sorted, as the node keeps them, to the second.
    expect(grantPayload({ ...form, duration: "12" }, NOW + 456)).toEqual({
      grantee: "m_shop",
      purposes: ["analytics", "marketing_email"],
      categories: ["contact"],
      validUntil: "2027-01-31T12:00:00Z",
    });
  });

  it("narrow only: fewer purposes or categories, or an earlier end, and something must change", () => {
    const kept = narrowDefaults(consent);
    expect(kept.until).toBe("2027-01-31");
    expect(narrowProblem(consent, kept, NOW)).toEqual(["purposes", "consents.errors.unchanged"]);
    expect(narrowProblem(consent, { ...kept, purposes: [] }, NOW)?.[1]).toBe(
      "consents.errors.purposes",
    );
    expect(narrowProblem(consent, { ...kept, categories: [] }, NOW)?.[1]).toBe(
      "consents.errors.categories",
    );
    expect(narrowProblem(consent, { ...kept, until: "2027-02-01" }, NOW)?.[1]).toBe(
      "consents.errors.later",
    );
    expect(narrowProblem(consent, { ...kept, until: "2026-01-30" }, NOW)?.[1]).toBe(
      "consents.errors.past",
    );
    const fewer = { ...kept, purposes: ["analytics"] };
    expect(narrowProblem(consent, fewer, NOW)).toBeUndefined();
    // The kept end goes back exactly as the node wrote it; the whole consent is named.
    expect(narrowPayload(consent, fewer)).toEqual({
      consentId: "cn_1",
      purposes: ["analytics"],
      categories: ["contact", "loyalty"],
      validUntil: "2027-01-31T12:00:00.123Z",
    });
    expect(narrowPayload(consent, { ...kept, until: "2026-06-30" }).validUntil).toBe(
      "2026-06-30T23:59:59Z",
    );
  });
});

describe("the signing dialog's sentences", () => {
  const command = (type: string, payload: Record<string, unknown>): Command =>
    ({
      v: 1,
      type,
      ledger: "patron.example/ledger",
      actor: "did:key:z6Mk",
      merchant: "m_shop",
      nonce: "n",
      expires: "2026-01-31T12:15:00Z",
      payload,
    }) as Command;
  const names = {
    marketing_email: "Our newsletter",
    contact: "contact details",
    m_partner: "Partner Co",
    cn_1: "“Our newsletter” (cn_1)",
    export: "Your data in a file",
  };

  it("say what a consent allows, to whom and until when, in the page's words", () => {
    const grant = describeCommand(
      command("consent.grant", {
        grantee: "m_shop",
        purposes: ["marketing_email"],
        categories: ["contact"],
        validUntil: "2027-01-31T12:00:00Z",
      }),
      "The Shop",
      names,
    );
    expect(grant).toMatchObject({
      key: "signing.types.consent.grant",
      known: true,
      params: {
        grantee: "The Shop",
        purposes: "Our newsletter",
        categories: "contact details",
        until: "2027-01-31",
      },
    });
    const partner = describeCommand(
      command("consent.grant", {
        grantee: "m_partner",
        purposes: ["marketing_email"],
        categories: ["contact"],
        validUntil: "2027-01-31T12:00:00Z",
      }),
      "The Shop",
      names,
    );
    expect(partner.params.grantee).toBe("Partner Co");
    const narrow = describeCommand(
      command("consent.narrow", {
        consentId: "cn_1",
        purposes: ["marketing_email"],
        categories: ["contact"],
        validUntil: "2026-06-30T23:59:59Z",
      }),
      "The Shop",
      names,
    );
    expect(narrow.params).toMatchObject({ consent: names.cn_1, until: "2026-06-30" });
    expect(
      describeCommand(command("consent.revoke", { consentId: "cn_9" }), "The Shop").params.consent,
    ).toBe("cn_9");
    expect(
      describeCommand(command("request.submit", { kind: "export" }), "The Shop", names).params.kind,
    ).toBe("Your data in a file");
    expect(describeCommand(command("customer.erase", {}), "The Shop").key).toBe(
      "signing.types.customer.erase",
    );
  });
});

describe("a consent receipt", () => {
  const secret = ed25519.utils.randomSecretKey();
  const jwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: encodeBase64Url(ed25519.getPublicKey(secret)),
    kid: "k1",
  };
  const part = (o: object) => encodeBase64Url(utf8Encode(JSON.stringify(o)));
  const sign = (header: object, claims: object, key = secret) => {
    const input = `${part(header)}.${part(claims)}`;
    return `${input}.${encodeBase64Url(ed25519.sign(utf8Encode(input), key))}`;
  };
  const claims = {
    iss: "urn:patron:merchant:m_shop",
    credentialSubject: { id: "did:key:z6Mk", consent: { id: "cn_1", status: "active" } },
  };
  const header = { alg: "EdDSA", typ: "vc+jwt", kid: "k1" };

  it("is decoded and its signature checked against the merchant's published key", () => {
    const jwt = sign(header, claims);
    const decoded = decodeReceipt(jwt);
    expect(decoded.consent).toEqual({ id: "cn_1", status: "active" });
    expect(checkReceipt(decoded, { keys: [jwk] })).toEqual({ ok: true, kid: "k1" });
    // Disclosures after a `~` are not what the issuer signed.
    expect(checkReceipt(decodeReceipt(`${jwt}~`), { keys: [jwk] }).ok).toBe(true);
  });

  it("fails for another key, an altered claim, or what is not a JWT", () => {
    const other = sign(header, claims, ed25519.utils.randomSecretKey());
    expect(checkReceipt(decodeReceipt(other), { keys: [jwk] })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    const [h, , s] = sign(header, claims).split(".");
    const altered = `${h}.${part({ ...claims, iss: "someone else" })}.${s}`;
    expect(checkReceipt(decodeReceipt(altered), { keys: [jwk] }).ok).toBe(false);
    expect(checkReceipt(decodeReceipt(sign(header, claims)), { keys: [] })).toEqual({
      ok: false,
      reason: "no_key",
    });
    expect(
      checkReceipt(decodeReceipt(sign({ ...header, alg: "ES256" }, claims)), { keys: [jwk] }),
    ).toEqual({ ok: false, reason: "not_eddsa" });
    expect(() => decodeReceipt("not.a")).toThrow(ReceiptError);
    expect(() => decodeReceipt("e30.bm90IGpzb24.AA")).toThrow(/not JSON/);
  });
});

describe("the catalogues for consents, requests and erasure", () => {
  type Tree = { [k: string]: string | Tree };
  const at = (tree: Tree, path: string) =>
    path.split(".").reduce<string | Tree | undefined>((node, k) => {
      if (node === undefined || typeof node === "string") return undefined;
      return node[k];
    }, tree);

  it("name every purpose, category, status, method, reason and kind, in both languages", () => {
    const families: [string, readonly string[]][] = [
      ["consents.purposes", CONSENT_PURPOSES],
      ["consents.categories", CONSENT_CATEGORIES],
      ["consents.status", CONSENT_STATUSES],
      ["consents.methods", CONSENT_METHODS],
      ["consents.ended", ENDED_REASONS],
      ["consents.receipt.invalid", ["no_key", "bad_signature", "not_eddsa"]],
      ["consents.grant.durations", ["1", "3", "6", "12", "24", "60", "date"]],
      ["requests.kinds", REQUEST_KINDS],
      ["requests.hints", REQUEST_KINDS],
      ["requests.status", REQUEST_STATUSES],
      [
        "requests.reasons",
        ["identity_not_verified", "manifestly_unfounded", "excessive", "no_such_data"],
      ],
      ["requests.channels", ["portal", "email", "staff", "post", "phone", "in_person"]],
      ["erase.fields", ["name", "address", "email", "phone", "birthday"]],
      [
        "erase.kinds",
        [
          "visit",
          "call",
          "message",
          "email",
          "review",
          "purchase",
          "return",
          "complaint",
          "meeting",
          "other",
        ],
      ],
    ];
    const missing: string[] = [];
    for (const [lang, tree] of [
      ["en", en],
      ["zh-CN", zhCN],
    ] as const) {
      for (const [family, members] of families) {
        for (const m of members) {
          if (typeof at(tree as Tree, `${family}.${m}`) !== "string") {
            missing.push(`${lang}: ${family}.${m}`);
          }
        }
      }
      for (const t of [
        "consent.grant",
        "consent.narrow",
        "consent.revoke",
        "request.submit",
        "customer.erase",
      ]) {
        const types = at(tree as Tree, "signing.types") as Tree;
        if (typeof types[t] !== "string") missing.push(`${lang}: signing.types.${t}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
