import { createHash, generateKeyPairSync, sign } from "node:crypto";
import {
  type Command,
  commandChallenge,
  type Entry,
  encodeBase64,
  encodeDidKey,
  encodeEntry,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  inclusionProof,
  newSalt,
  rootFromLeafHashes,
  type SignedCommand,
  signCheckpoint,
  signCommand,
} from "@patron/ledger";
import { describe, expect, it } from "vitest";
import type { InclusionProof } from "./api.js";
import {
  type EntryVerification,
  openCheckpoint,
  type VerifiedCheckpoint,
  verifyEntry,
  verifySealedEntry,
} from "./verify.js";

// The explorer's verdicts on trees built here: a public entry, a sealed one, and sealed ones
// that record a customer's signed command (Ed25519 and passkey), each proved against a signed
// checkpoint exactly as the entry page does. Keys come from node:crypto, so what is checked is
// the explorer against the formats, not the library against itself.

const ORIGIN = "ledger.test.example";
const MERCHANT = "m_shop";
const CUSTOMER = "c_ann";
const TIME = "2026-03-01T10:00:00.000Z";
const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

function ed25519Key() {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const secret = new Uint8Array(Buffer.from(jwk.d as string, "base64url"));
  const publicKey = new Uint8Array(Buffer.from(jwk.x as string, "base64url"));
  return { secret, did: encodeDidKey({ type: "Ed25519", publicKey }) };
}

function command(actor: string, over: Partial<Command> = {}): Command {
  return {
    v: 1,
    type: "consent.grant",
    ledger: ORIGIN,
    actor,
    merchant: MERCHANT,
    nonce: b64url(new Uint8Array(16).fill(9)),
    expires: "2026-03-02T10:00:00Z",
    payload: { purpose: "newsletter" },
    ...over,
  };
}

/** A passkey (P-256) assertion over `c`, as a browser returns it. */
function passkeySigned(c: (actor: string) => Command): SignedCommand {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = new Uint8Array(
    Buffer.concat([
      Buffer.from([0x04]),
      Buffer.from(jwk.x as string, "base64url"),
      Buffer.from(jwk.y as string, "base64url"),
    ]),
  );
  const cmd = c(encodeDidKey({ type: "P-256", publicKey: point }));
  const authData = Buffer.concat([
    sha256(new TextEncoder().encode("portal.test.example")),
    Buffer.from([0x05]),
    Buffer.alloc(4),
  ]);
  const clientData = Buffer.from(
    JSON.stringify({
      type: "webauthn.get",
      challenge: b64url(commandChallenge(cmd)),
      origin: "https://portal.test.example",
      crossOrigin: false,
    }),
  );
  const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), {
    key: privateKey,
    dsaEncoding: "der",
  });
  return {
    command: cmd,
    webauthn: {
      authenticatorData: b64url(authData),
      clientDataJSON: b64url(clientData),
      signature: b64url(signature),
    },
  };
}

const customer = ed25519Key();
const signed = signCommand(command(customer.did), customer.secret);
const other = signCommand(
  command(customer.did, { nonce: b64url(new Uint8Array(16)) }),
  customer.secret,
);

const base = { v: 1, actor: "merchant:m_shop/key:k_1", time: TIME } as const;
const entries: Entry[] = [
  {
    ...base,
    type: "merchant.created",
    payload: { merchantId: MERCHANT, name: "Shop" },
    subjects: [{ merchant: MERCHANT, prev: null }],
  },
  {
    ...base,
    type: "apikey.created",
    payload: { keyHash: "ab".repeat(32) },
    subjects: [{ merchant: MERCHANT, prev: 0 }],
    salt: newSalt(),
  },
  {
    ...base,
    type: "consent.granted",
    actor: customer.did,
    payload: { purpose: "newsletter" },
    subjects: [
      { customer: CUSTOMER, prev: null },
      { merchant: MERCHANT, prev: 1 },
    ],
    salt: newSalt(),
    signed,
  },
  // Another command's signature under this one: the shape is right, the signature is not.
  {
    ...base,
    type: "consent.granted",
    actor: customer.did,
    payload: {},
    subjects: [{ customer: CUSTOMER, prev: 2 }],
    salt: newSalt(),
    signed: { command: signed.command, signature: "signature" in other ? other.signature : "" },
  },
  // Signed, validly, for another ledger.
  {
    ...base,
    type: "consent.granted",
    actor: customer.did,
    payload: {},
    subjects: [{ customer: CUSTOMER, prev: 3 }],
    salt: newSalt(),
    signed: signCommand(command(customer.did, { ledger: "elsewhere.example" }), customer.secret),
  },
  // A chain link that points forward.
  { ...base, type: "note.added", payload: {}, subjects: [{ merchant: MERCHANT, prev: 9 }] },
  {
    ...base,
    type: "consent.granted",
    actor: "c",
    payload: {},
    salt: newSalt(),
    signed: passkeySigned((a) => command(a)),
  },
];
const bytes = entries.map(encodeEntry);
const leaves = bytes.map(hashLeaf);
const keys = generateNoteKeys(ORIGIN);
const head: VerifiedCheckpoint = openCheckpoint(
  signCheckpoint(
    {
      origin: ORIGIN,
      size: BigInt(leaves.length),
      root: rootFromLeafHashes(leaves),
      extensions: [],
    },
    keys.signerKey,
  ),
  keys.verifierKey,
);

const proofOf = (index: number): InclusionProof => ({
  index,
  size: leaves.length,
  leafHash: encodeHex(leaves[index] as Uint8Array),
  proof: inclusionProof(leaves, index).map(encodeHex),
});

const full = (index: number): EntryVerification =>
  verifyEntry({
    index,
    canonical: encodeBase64(bytes[index] as Uint8Array),
    claimedLeafHash: encodeHex(leaves[index] as Uint8Array),
    proof: proofOf(index),
    head,
  });

const check = (v: EntryVerification, label: string) => v.checks.find((c) => c.label === label);

describe("verifyEntry", () => {
  it("verifies a public entry, which is not sealed", () => {
    const v = full(0);
    expect(v.verified).toBe(true);
    expect(v.sealed).toBe(false);
    expect(v.withheld).toBe(false);
    expect(check(v, "Chain links")?.ok).toBe(true);
  });

  it("verifies a sealed entry shown whole and tells it is sealed from its bytes", () => {
    const v = full(1);
    expect(v.verified).toBe(true);
    expect(v.sealed).toBe(true);
    expect(check(v, "Canonical entry")?.detail).toContain("sealed");
  });

  it("verifies a customer's Ed25519 signed command", () => {
    const v = full(2);
    expect(v.verified).toBe(true);
    expect(v.command?.ok).toBe(true);
    expect(v.command?.method).toBe("Ed25519");
    expect(check(v, "Command signature")).toMatchObject({ ok: true });
    expect(check(v, "Command signature")?.detail).toContain(customer.did);
  });

  it("fails an entry whose command signature does not verify", () => {
    const v = full(3);
    expect(v.verified).toBe(false);
    expect(v.command?.ok).toBe(false);
    expect(check(v, "Command signature")?.ok).toBe(false);
    // the rest of the entry is sound: only the signature is wrong
    expect(check(v, "Inclusion proof")?.ok).toBe(true);
  });

  it("fails a command signed for another ledger", () => {
    const v = full(4);
    expect(v.verified).toBe(false);
    expect(v.command?.ok).toBe(true);
    expect(check(v, "Command signature")?.detail).toContain("elsewhere.example");
  });

  it("fails a chain link that does not point back", () => {
    const v = full(5);
    expect(v.verified).toBe(false);
    expect(check(v, "Chain links")?.ok).toBe(false);
  });

  it("verifies a passkey's command with no origin to hold it to, and names the origin", () => {
    const v = full(6);
    expect(v.command?.method).toBe("passkey");
    expect(v.command?.origin).toBe("https://portal.test.example");
    expect(check(v, "Command signature")?.ok).toBe(true);
    expect(v.verified).toBe(true);
  });
});

describe("verifySealedEntry", () => {
  const sealed = (index: number, claimedLeafHash: string, proof = proofOf(index)) =>
    verifySealedEntry({ index, claimedLeafHash, proof, head });

  it("proves a withheld entry's leaf hash into the signed tree, content unchecked", () => {
    const v = sealed(1, encodeHex(leaves[1] as Uint8Array).toUpperCase());
    expect(v.verified).toBe(true);
    expect(v.withheld).toBe(true);
    expect(v.entry).toBeUndefined();
    expect(v.text).toBeUndefined();
    expect(check(v, "Content")).toMatchObject({ ok: true, skipped: true });
    expect(check(v, "Inclusion proof")?.ok).toBe(true);
    expect(v.leafHash).toBe(encodeHex(leaves[1] as Uint8Array));
  });

  it("fails when the node's leaf hash is not the leaf at that index", () => {
    const v = sealed(1, encodeHex(leaves[2] as Uint8Array));
    expect(v.verified).toBe(false);
    expect(check(v, "Inclusion proof")?.ok).toBe(false);
  });

  it("fails a proof for another index or tree, and a leaf hash that is not one", () => {
    expect(sealed(1, encodeHex(leaves[1] as Uint8Array), proofOf(2)).verified).toBe(false);
    const v = sealed(1, "not a hash");
    expect(v.verified).toBe(false);
    expect(check(v, "Leaf hash")?.ok).toBe(false);
  });
});
