import {
  commitment,
  type Entry,
  encodeBase64,
  encodeBase64Url,
  encodeEntry,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
  signCheckpoint,
} from "@patron/ledger";
import { describe, expect, it } from "vitest";
import {
  actedBy,
  checkHistory,
  classify,
  formatValue,
  type HistoryInput,
  profileMismatches,
} from "./history.js";
import type { FieldValue } from "./schemas.js";

// A small log built here the way the node builds one: a customer's chain of three entries among
// a merchant's, a personal value committed in the first, a signed checkpoint over all of it.

const ORIGIN = "test.example/log";
const keys = generateNoteKeys(ORIGIN);
const C = "c_zoe";
const SALT = new Uint8Array(16).fill(7);
const name: FieldValue = {
  customerId: C,
  field: "name",
  version: 1,
  value: "Zoë Martin",
  salt: encodeBase64Url(SALT),
};
const nameCommitment = encodeBase64Url(
  commitment(SALT, { customer: C, field: "name", version: 1, value: "Zoë Martin" }),
);

const entry = (e: Partial<Entry> & Pick<Entry, "type">): Entry => ({
  v: 1,
  actor: "node",
  time: "2026-06-01T12:00:00Z",
  payload: {},
  ...e,
});
const log: Entry[] = [
  entry({ type: "merchant.created", subjects: [{ merchant: "m_x", prev: null }] }),
  entry({
    type: "customer.created",
    actor: "merchant:m_x/key:k_1",
    payload: { fields: { name: nameCommitment } },
    subjects: [{ customer: C, prev: null }],
  }),
  entry({ type: "other.thing", subjects: [{ merchant: "m_x", prev: 0 }] }),
  entry({ type: "customer.updated", subjects: [{ customer: C, prev: 1 }] }),
  entry({ type: "interaction.recorded", subjects: [{ customer: C, prev: 3 }] }),
];
const bytes = log.map(encodeEntry);
const leaves = bytes.map((b) => hashLeaf(b));
const checkpoint = signCheckpoint(
  { origin: ORIGIN, size: BigInt(log.length), root: rootFromLeafHashes(leaves), extensions: [] },
  keys.signerKey,
);
const served = (i: number) => ({
  index: i,
  data: encodeBase64(bytes[i] as Uint8Array),
  proof: inclusionProof(leaves, i).map(encodeHex),
});
const input = (over: Partial<HistoryInput> = {}): HistoryInput => ({
  key: keys.verifierKey,
  checkpoint,
  records: [C],
  entries: [served(4), served(3), served(1)],
  fields: [name],
  profileHead: 4,
  ...over,
});

describe("the portal's history check", () => {
  it("proves a whole chain, with its values beside the entries that commit them", () => {
    const v = checkHistory(input());
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.head.size).toBe(5);
    expect(v.entries.map((e) => e.index)).toEqual([4, 3, 1]);
    expect(v.entries[2]?.fields).toEqual([name]);
    expect(v.fields).toBe(1);
    expect(v.signed).toBe(0);
  });

  it("names the entry whose bytes changed, and the gap it leaves", () => {
    const changed = new TextDecoder()
      .decode(bytes[3])
      .replace("customer.updated", "customer.updatex");
    const bad = { ...served(3), data: encodeBase64(new TextEncoder().encode(changed)) };
    const v = checkHistory(input({ entries: [served(4), bad, served(1)] }));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems[0]).toMatchObject({ kind: "inclusion", entry: 3 });
    expect(v.problems).toContainEqual(expect.objectContaining({ kind: "gap", entry: 3 }));
  });

  it("catches a value that is not the one committed, an entry left out, a chain cut short", () => {
    const wrong = checkHistory(input({ fields: [{ ...name, value: "Mallory" }] }));
    expect(!wrong.ok && wrong.problems).toEqual([
      expect.objectContaining({ kind: "commitment", field: "name", entry: 1 }),
    ]);
    const gap = checkHistory(input({ entries: [served(4), served(1)] }));
    expect(!gap.ok && gap.problems.map((p) => p.kind)).toEqual(["gap", "offChain"]);
    const short = checkHistory(input({ entries: [served(3), served(1)] }));
    expect(!short.ok && short.problems).toEqual([
      expect.objectContaining({ kind: "head", entry: 4 }),
    ]);
    const none = checkHistory(input({ entries: [], fields: [], profileHead: null }));
    expect(!none.ok && none.problems.map((p) => p.kind)).toEqual(["empty"]);
  });

  it("trusts no checkpoint but one the log's key signed", () => {
    const other = generateNoteKeys(ORIGIN);
    const v = checkHistory(input({ key: other.verifierKey }));
    expect(!v.ok && v.problems.map((p) => p.kind)).toEqual(["checkpoint"]);
  });

  it("reads the library's problem lines, and keeps the ones it does not know whole", () => {
    expect(classify("entry 7: signature does not verify (bad)")).toMatchObject({
      kind: "signature",
      entry: 7,
    });
    expect(classify("field email: its entry 9 was not served")).toMatchObject({
      kind: "fieldMissing",
      field: "email",
      entry: 9,
    });
    expect(classify("something new")).toEqual({ kind: "other", detail: "something new" });
  });

  it("says who acted, and shows values as one line", () => {
    const did = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX";
    expect(actedBy(entry({ type: "x", actor: did }), did)).toMatchObject({ current: true });
    expect(actedBy(entry({ type: "x", actor: did }), "did:key:other")).toMatchObject({
      kind: "you",
      current: false,
    });
    expect(actedBy(entry({ type: "x", actor: "merchant:m_x/key:k_1" }), did)).toEqual({
      kind: "staff",
      key: "k_1",
    });
    expect(actedBy(entry({ type: "x" }), did)).toEqual({ kind: "node" });
    expect(formatValue(["a@example.com", "b@example.com"])).toBe("a@example.com, b@example.com");
    expect(formatValue({ city: "Lyon", country: "FR" })).toBe("Lyon, FR");
  });

  it("compares the profile shown with the newest committed values", () => {
    const profile = {
      id: C,
      name: "Zoë Martin",
      emails: [],
      phones: [],
      birthday: null,
      address: null,
    };
    const fields = [{ ...name, version: 0, value: "Old" }, name];
    expect(profileMismatches(profile, fields)).toEqual([]);
    expect(profileMismatches({ ...profile, name: "Someone" }, fields)).toEqual(["name"]);
    expect(profileMismatches({ ...profile, emails: ["z@example.com"] }, fields)).toEqual(["email"]);
  });
});
