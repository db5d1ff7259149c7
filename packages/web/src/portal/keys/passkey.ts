import { decodeBase64Url, encodeBase64Url, encodeDidKey, type WebAuthnProof } from "@patron/ledger";

// A passkey per merchant (ARCHITECTURE decisions 5 and 13): a WebAuthn ES256 credential whose
// public key is the customer's P-256 did:key there. The portal keeps its credential id and
// did:key (nothing secret: the private key never leaves the authenticator) and signs a command
// by asking for an assertion whose challenge is commandChallenge(command).

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])$/i;

/** Whether this page can use passkeys at all: WebAuthn, a secure context, a domain (not an IP). */
export function passkeysSupported(): boolean {
  return (
    typeof window !== "undefined" &&
    typeof window.PublicKeyCredential === "function" &&
    window.isSecureContext &&
    !IP_ADDRESS.test(window.location.hostname)
  );
}

/**
 * Why passkeys cannot be used here, for the page to say: on an IP address (browsers refuse them
 * there even over HTTPS or on 127.0.0.1, where the node's start line points), or for want of
 * WebAuthn or a secure context. Undefined where they can.
 */
export function passkeyBlocker(): "ip_address" | "unsupported" | undefined {
  if (passkeysSupported()) return undefined;
  if (typeof window !== "undefined" && IP_ADDRESS.test(window.location.hostname)) {
    return "ip_address";
  }
  return "unsupported";
}

/**
 * Whether a passkey is the portal's first choice here: supported, and the device has its own
 * authenticator that verifies the user (fingerprint, face, PIN).
 */
export async function passkeyPreferred(): Promise<boolean> {
  if (!passkeysSupported()) return false;
  try {
    return await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
  } catch {
    return false;
  }
}

const bytes = (b: ArrayBuffer | ArrayBufferView): Uint8Array =>
  b instanceof ArrayBuffer
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const buffer = (b: Uint8Array): ArrayBuffer => {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
};

export class PasskeyError extends Error {
  override name = "PasskeyError";
  constructor(
    readonly code: "cancelled" | "unsupported" | "failed",
    message: string,
  ) {
    super(message);
  }
}

function fromDomException(err: unknown): never {
  if (err instanceof PasskeyError) throw err;
  if (
    err instanceof DOMException &&
    (err.name === "NotAllowedError" || err.name === "AbortError")
  ) {
    throw new PasskeyError("cancelled", "the passkey prompt was closed or timed out");
  }
  if (err instanceof DOMException && err.name === "NotSupportedError") {
    throw new PasskeyError("unsupported", "this device cannot make an ES256 passkey");
  }
  throw new PasskeyError("failed", err instanceof Error ? err.message : String(err));
}

/** The SEC1 point at the end of a P-256 SubjectPublicKeyInfo (0x04 ‖ x ‖ y). */
export function pointOf(spki: Uint8Array): Uint8Array {
  const point = spki.slice(spki.length - 65);
  if (spki.length < 65 || point[0] !== 0x04) throw new PasskeyError("failed", "not a P-256 key");
  return point;
}

/**
 * Makes a new passkey for one merchant. Each has its own random user handle, so passkeys for
 * two merchants never overwrite each other and share nothing a merchant could link.
 */
export async function createPasskey(input: {
  merchant: string;
  merchantName: string;
}): Promise<{ credentialId: string; did: string }> {
  if (!passkeysSupported()) {
    throw new PasskeyError("unsupported", "passkeys need HTTPS (or localhost) and a domain name");
  }
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.create({
      publicKey: {
        // No server ceremony: the key proves itself by signing customer.join or customer.claim.
        challenge: buffer(crypto.getRandomValues(new Uint8Array(32))),
        rp: { id: window.location.hostname, name: "Patron" },
        user: {
          id: buffer(crypto.getRandomValues(new Uint8Array(16))),
          name: input.merchantName,
          displayName: `${input.merchantName} (Patron)`,
        },
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
        attestation: "none",
        timeout: 120_000,
      },
    });
  } catch (err) {
    fromDomException(err);
  }
  if (!(credential instanceof PublicKeyCredential)) {
    throw new PasskeyError("failed", "no passkey was made");
  }
  const response = credential.response as AuthenticatorAttestationResponse;
  if (response.getPublicKeyAlgorithm() !== -7) {
    throw new PasskeyError("unsupported", "the passkey is not an ES256 (P-256) key");
  }
  const spki = response.getPublicKey();
  if (!spki) throw new PasskeyError("failed", "the browser did not give the passkey's public key");
  return {
    credentialId: encodeBase64Url(bytes(credential.rawId)),
    did: encodeDidKey({ type: "P-256", publicKey: pointOf(bytes(spki)) }),
  };
}

/** An assertion by the passkey `credentialId` over `challenge` (user verification required). */
export async function passkeyAssert(
  credentialId: string,
  challenge: Uint8Array,
): Promise<WebAuthnProof> {
  if (!passkeysSupported()) {
    throw new PasskeyError("unsupported", "passkeys need HTTPS (or localhost) and a domain name");
  }
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.get({
      publicKey: {
        challenge: buffer(challenge),
        rpId: window.location.hostname,
        userVerification: "required",
        allowCredentials: [{ type: "public-key", id: buffer(decodeBase64Url(credentialId)) }],
        timeout: 120_000,
      },
    });
  } catch (err) {
    fromDomException(err);
  }
  if (!(credential instanceof PublicKeyCredential)) {
    throw new PasskeyError("failed", "no passkey answered");
  }
  const r = credential.response as AuthenticatorAssertionResponse;
  return {
    authenticatorData: encodeBase64Url(bytes(r.authenticatorData)),
    clientDataJSON: encodeBase64Url(bytes(r.clientDataJSON)),
    signature: encodeBase64Url(bytes(r.signature)),
  };
}
