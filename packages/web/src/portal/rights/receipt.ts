import { ed25519 } from "@noble/curves/ed25519.js";
import { tryDecodeBase64Url, utf8Decode, utf8Encode } from "@patron/ledger";
import type { Jwks } from "./schemas.js";

// A consent receipt: a W3C VC 2.0 credential as a JWT (`typ: vc+jwt`, `alg: EdDSA`), signed
// with the merchant's issuer key (packages/server/src/consent/issuer.ts). The portal decodes it
// to show what it states, and checks its signature against the merchant's published JWKS, so
// the customer need not take the node's word for it. (An SD-JWT would carry disclosures after
// a `~`: only the issuer-signed part before it is read.)

export interface DecodedReceipt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The consent the credential states (credentialSubject.consent). */
  consent: Record<string, unknown>;
  /** What the signature covers: the first two parts, as sent. */
  signingInput: string;
  signature: Uint8Array;
}

export class ReceiptError extends Error {
  override name = "ReceiptError";
}

const object = (x: unknown): Record<string, unknown> | undefined =>
  x !== null && typeof x === "object" && !Array.isArray(x)
    ? (x as Record<string, unknown>)
    : undefined;

function part(s: string, what: string): Record<string, unknown> {
  const bytes = tryDecodeBase64Url(s);
  if (!bytes) throw new ReceiptError(`the receipt's ${what} is not base64url`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new ReceiptError(`the receipt's ${what} is not JSON`);
  }
  const o = object(parsed);
  if (!o) throw new ReceiptError(`the receipt's ${what} is not a JSON object`);
  return o;
}

/** The receipt's header, claims and signature; throws ReceiptError for anything else. */
export function decodeReceipt(jwt: string): DecodedReceipt {
  const compact = jwt.split("~")[0] ?? "";
  const parts = compact.split(".");
  if (parts.length !== 3) throw new ReceiptError("the receipt is not a JWT (three parts)");
  const [h, p, s] = parts as [string, string, string];
  const header = part(h, "header");
  const claims = part(p, "claims");
  const signature = tryDecodeBase64Url(s);
  if (!signature) throw new ReceiptError("the receipt's signature is not base64url");
  const consent = object(object(claims.credentialSubject)?.consent) ?? {};
  return { header, claims, consent, signingInput: `${h}.${p}`, signature };
}

export type ReceiptCheck =
  | { ok: true; kid: string }
  | { ok: false; reason: "no_key" | "bad_signature" | "not_eddsa" };

/** Whether the merchant's published issuer key (the header's `kid`) signed the receipt. */
export function checkReceipt(receipt: DecodedReceipt, jwks: Jwks): ReceiptCheck {
  if (receipt.header.alg !== "EdDSA") return { ok: false, reason: "not_eddsa" };
  const kid = typeof receipt.header.kid === "string" ? receipt.header.kid : "";
  const key = jwks.keys.find(
    (k) => k.kty === "OKP" && k.crv === "Ed25519" && (kid === "" || k.kid === kid),
  );
  const publicKey = key?.x ? tryDecodeBase64Url(key.x) : undefined;
  if (!key || !publicKey || publicKey.length !== 32) return { ok: false, reason: "no_key" };
  let valid = false;
  try {
    valid = ed25519.verify(receipt.signature, utf8Encode(receipt.signingInput), publicKey);
  } catch {
    valid = false;
  }
  return valid ? { ok: true, kid: key.kid ?? kid } : { ok: false, reason: "bad_signature" };
}
