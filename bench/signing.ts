/**
 * Customer keys for the signed-command benchmarks, held the way a client outside Patron holds
 * them: node:crypto keys that sign commands (ARCHITECTURE decision 5). An Ed25519 key signs
 * `patron-command/v1\n ‖ JCS(command)`; a passkey is a software authenticator (a P-256 key)
 * that makes a WebAuthn assertion whose challenge is SHA-256 of those bytes, with the user
 * present and verified flags set, as packages/ledger/src/webauthn.test.ts builds them.
 *
 * Keys travel to worker threads as PKCS #8 (base64), so the load generators sign in their own
 * thread, not on the server's event loop.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import {
  type Command,
  canonicalJson,
  encodeDidKey,
  type JsonValue,
  type SignedCommand,
} from "@patron/ledger";

export type KeyKind = "ed25519" | "passkey";

/** A key as it crosses into a worker thread. */
export interface KeyMaterial {
  kind: KeyKind;
  pkcs8: string;
}

/** Where commands go: the log's origin line and the merchant addressed. */
export interface Target {
  ledger: string;
  merchant: string;
  /** The page a passkey ceremony runs on (one of the node's WebAuthn origins). */
  webOrigin: string;
}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest();
const PREFIX = Buffer.from("patron-command/v1\n");
/**
 * What is signed, as a client outside Patron computes it: the prefix and RFC 8785 JSON, without
 * the library's checks of the command's form (which would decode the did:key's curve point).
 */
const signingBytes = (c: Command) => Buffer.concat([PREFIX, Buffer.from(canonicalJson(c))]);
const UP_UV = 0x05;
const HOUR = 3_600_000;

export class ClientKey {
  readonly did: string;

  private constructor(
    readonly kind: KeyKind,
    private readonly privateKey: KeyObject,
  ) {
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    const x = Buffer.from(jwk.x as string, "base64url");
    this.did =
      kind === "ed25519"
        ? encodeDidKey({ type: "Ed25519", publicKey: x })
        : encodeDidKey({
            type: "P-256",
            publicKey: Buffer.concat([
              Buffer.from([4]),
              x,
              Buffer.from(jwk.y as string, "base64url"),
            ]),
          });
  }

  static generate(kind: KeyKind): ClientKey {
    const { privateKey } =
      kind === "ed25519"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("ec", { namedCurve: "P-256" });
    return new ClientKey(kind, privateKey);
  }

  static from(m: KeyMaterial): ClientKey {
    const key = createPrivateKey({
      key: Buffer.from(m.pkcs8, "base64"),
      format: "der",
      type: "pkcs8",
    });
    return new ClientKey(m.kind, key);
  }

  export(): KeyMaterial {
    const der = this.privateKey.export({ format: "der", type: "pkcs8" });
    return { kind: this.kind, pkcs8: der.toString("base64") };
  }

  /** A fresh command from this key: a new nonce, expiring in an hour. */
  command(t: Target, type: string, payload: JsonValue): Command {
    return {
      v: 1,
      type,
      ledger: t.ledger,
      actor: this.did,
      merchant: t.merchant,
      nonce: randomBytes(16).toString("base64url"),
      expires: new Date(Date.now() + HOUR).toISOString(),
      payload,
    };
  }

  sign(t: Target, command: Command): SignedCommand {
    if (this.kind === "ed25519") {
      const signature = sign(null, signingBytes(command), this.privateKey);
      return { command, signature: signature.toString("base64url") };
    }
    const authData = Buffer.concat([
      sha256(new URL(t.webOrigin).hostname),
      Buffer.from([UP_UV]),
      Buffer.from([0, 0, 0, 0]),
    ]);
    const clientData = Buffer.from(
      JSON.stringify({
        type: "webauthn.get",
        challenge: sha256(signingBytes(command)).toString("base64url"),
        origin: t.webOrigin,
        crossOrigin: false,
      }),
    );
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), {
      key: this.privateKey,
      dsaEncoding: "der",
    });
    return {
      command,
      webauthn: {
        authenticatorData: authData.toString("base64url"),
        clientDataJSON: clientData.toString("base64url"),
        signature: signature.toString("base64url"),
      },
    };
  }
}
