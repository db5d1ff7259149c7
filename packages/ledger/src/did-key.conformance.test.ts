import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type DidKeyType, decodeDidKey, encodeDidKey } from "./did-key.js";
import { DidKeyError } from "./errors.js";

// W3C CCG did:key vectors (did-method-key test-vectors and did-key-test-suite), vendored
// unchanged: see conformance/did-key/README.md.
const ROOT = fileURLToPath(new URL("../conformance/did-key/", import.meta.url));
const load = (path: string): unknown => JSON.parse(readFileSync(`${ROOT}${path}`, "utf8"));

interface Jwk {
  kty: string;
  crv: string;
  x: string;
  y?: string;
}

interface VectorKey {
  type: string;
  publicKeyBase58?: string;
  publicKeyJwk?: Jwk;
}

interface Vector {
  seed?: string;
  verificationKeyPair?: VectorKey;
  verificationMethod?: VectorKey;
}

interface SuiteCase {
  negative: boolean;
  did: string;
}

// The test's own base58 and SEC1 compression, so vectors are not read by the code under test.
const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(s: string): Uint8Array {
  let n = 0n;
  for (const ch of s) n = n * 58n + BigInt(B58.indexOf(ch));
  const hex = n.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  const zeros = s.length - s.replace(/^1+/, "").length;
  return new Uint8Array([...new Array<number>(zeros).fill(0), ...body]);
}

const b64url = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));

function expectedKey(v: VectorKey): Uint8Array {
  if (v.publicKeyBase58) return base58(v.publicKeyBase58);
  const jwk = v.publicKeyJwk as Jwk;
  if (jwk.kty === "OKP") return b64url(jwk.x);
  const y = b64url(jwk.y as string);
  return new Uint8Array([(y[y.length - 1] as number) & 1 ? 0x03 : 0x02, ...b64url(jwk.x)]);
}

function typeOf(did: string, v: VectorKey): string {
  if (v.publicKeyJwk) return v.publicKeyJwk.crv;
  if (v.type.startsWith("Ed25519")) return "Ed25519";
  if (v.type.startsWith("P256")) return "P-256";
  throw new Error(`no key type for ${did}`);
}

// Ed25519 public key of a 32-byte seed by node:crypto: the RFC 8410 PKCS#8 wrapping of the seed.
function ed25519FromSeed(seedHex: string): Uint8Array {
  const der = Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from(seedHex, "hex"),
  ]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({
    format: "jwk",
  });
  return b64url(jwk.x as string);
}

const files = ["did-method-key/ed25519-x25519.json", "did-method-key/nist-curves.json"];
const vectors = files.flatMap((f) =>
  Object.entries(load(f) as Record<string, Vector>).map(([did, v]) => [f, did, v] as const),
);

describe("did:key vectors (w3c-ccg/did-method-key)", () => {
  it("has the 12 DIDs of both files, over all four key types", () => {
    expect(vectors).toHaveLength(12);
    const types = vectors.map(([, did]) => decodeDidKey(did).type);
    expect(new Set(types)).toEqual(new Set(["Ed25519", "P-256", "P-384", "P-521"]));
  });

  it.each(vectors)("%s %s", (_file, did, v) => {
    const vk = (v.verificationKeyPair ?? v.verificationMethod) as VectorKey;
    const key = decodeDidKey(did);
    expect(key.type).toBe(typeOf(did, vk));
    expect(Buffer.from(key.publicKey).toString("hex")).toBe(
      Buffer.from(expectedKey(vk)).toString("hex"),
    );
    expect(encodeDidKey(key)).toBe(did);
    if (v.seed !== undefined) expect(ed25519FromSeed(v.seed)).toEqual(key.publicKey);
  });

  it("encodes uncompressed JWK points to the same DIDs", () => {
    for (const [, did, v] of vectors) {
      const jwk = v.verificationMethod?.publicKeyJwk;
      if (jwk?.kty !== "EC" || jwk.y === undefined) continue;
      const uncompressed = new Uint8Array([0x04, ...b64url(jwk.x), ...b64url(jwk.y)]);
      expect(encodeDidKey({ type: jwk.crv as DidKeyType, publicKey: uncompressed })).toBe(did);
    }
  });
});

describe("did:key resolver cases (w3c-ccg/did-key-test-suite)", () => {
  it("decodes the valid DID", () => {
    const c = load("did-key-test-suite/validDid.json") as SuiteCase;
    expect(c.negative).toBe(false);
    const key = decodeDidKey(c.did);
    expect(key.type).toBe("Ed25519");
    expect(encodeDidKey(key)).toBe(c.did);
  });

  it.each(["incorrectEncoding.json", "notMultibase.json"])("refuses %s", (file) => {
    const c = load(`did-key-test-suite/${file}`) as SuiteCase;
    expect(c.negative).toBe(true);
    expect(() => decodeDidKey(c.did)).toThrow(DidKeyError);
  });
});
