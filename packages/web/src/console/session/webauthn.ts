import { decodeBase64Url, encodeBase64Url } from "@patron/ledger";

// The browser's side of the staff passkey ceremonies (staff/passkeys.ts on the node): ES256
// keys only, user verification required, the node's hostname as the relying party.

export const passkeysAvailable = () =>
  typeof window !== "undefined" &&
  typeof window.PublicKeyCredential === "function" &&
  window.isSecureContext;

const bytes = (b: ArrayBuffer | ArrayBufferView): Uint8Array =>
  b instanceof ArrayBuffer
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** A copy in an ArrayBuffer of its own: what the WebAuthn API takes as a BufferSource. */
const buffer = (b: Uint8Array): ArrayBuffer => {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
};

/**
 * The public key as the node stores it: the SEC1 point of a P-256 key. getPublicKey() gives
 * SubjectPublicKeyInfo DER, whose last 65 bytes are the uncompressed point (0x04 ‖ x ‖ y).
 */
export function pointOf(spki: Uint8Array): Uint8Array {
  const point = spki.slice(spki.length - 65);
  if (spki.length < 65 || point[0] !== 0x04) throw new Error("not a P-256 public key");
  return point;
}

export interface Assertion {
  credentialId: string;
  assertion: { authenticatorData: string; clientDataJSON: string; signature: string };
}

function assertionOf(credential: Credential | null): Assertion {
  if (!(credential instanceof PublicKeyCredential)) throw new Error("no passkey was chosen");
  const r = credential.response as AuthenticatorAssertionResponse;
  return {
    credentialId: encodeBase64Url(bytes(credential.rawId)),
    assertion: {
      authenticatorData: encodeBase64Url(bytes(r.authenticatorData)),
      clientDataJSON: encodeBase64Url(bytes(r.clientDataJSON)),
      signature: encodeBase64Url(bytes(r.signature)),
    },
  };
}

/** An assertion over `challenge` (base64url) by a passkey of this site, or of `only` one. */
export async function assert(challenge: string, only?: string): Promise<Assertion> {
  const credential = await navigator.credentials.get({
    publicKey: {
      challenge: buffer(decodeBase64Url(challenge)),
      rpId: window.location.hostname,
      userVerification: "required",
      ...(only
        ? { allowCredentials: [{ type: "public-key", id: buffer(decodeBase64Url(only)) }] }
        : {}),
    },
  });
  return assertionOf(credential);
}

/** Makes a discoverable ES256 passkey for the signed-in staff user. */
export async function create(input: {
  challenge: string;
  staffId: string;
  email: string;
  merchant: string;
}): Promise<{ credentialId: string; publicKey: string }> {
  const credential = await navigator.credentials.create({
    publicKey: {
      challenge: buffer(decodeBase64Url(input.challenge)),
      rp: { id: window.location.hostname, name: `Patron · ${input.merchant}` },
      user: {
        id: buffer(new TextEncoder().encode(input.staffId)),
        name: input.email,
        displayName: input.email,
      },
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      attestation: "none",
    },
  });
  if (!(credential instanceof PublicKeyCredential)) throw new Error("no passkey was made");
  const spki = (credential.response as AuthenticatorAttestationResponse).getPublicKey();
  if (!spki) throw new Error("the browser did not give the passkey's public key");
  return {
    credentialId: encodeBase64Url(bytes(credential.rawId)),
    publicKey: encodeBase64Url(pointOf(bytes(spki))),
  };
}
