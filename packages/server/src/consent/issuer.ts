import { createPrivateKey, generateKeyPairSync, hkdfSync, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JWK, SignJWT } from "jose";
import type { Queryable } from "../db/database.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import { openSealed, seal } from "../vault/cipher.js";
import type { Vault } from "../vault/vault.js";

/** A merchant's issuer key: its public JWK (with `kid`) and the private key to sign with. */
interface IssuerKey {
  kid: string;
  publicJwk: JWK;
  privateKey: KeyObject;
}

/** What a receipt states: the consent as the ledger holds it, no personal values. */
export interface ReceiptFacts {
  consentId: string;
  merchantId: string;
  grantee: string;
  purposes: string[];
  categories: string[];
  validFrom: string;
  validUntil: string;
  status: string;
  method: string;
  /** The customer's did:key when they signed the grant themselves. */
  signer?: string;
  /** The grant's entry, to check against the log. */
  entryIndex: number;
  textVersion?: string;
  textCommitment?: string;
}

const associated = (merchantId: string, kid: string) => `patron-issuer/v1/${merchantId}/${kid}`;

/**
 * The credentials the node issues on a merchant's behalf (decision 5): one Ed25519 issuer key
 * per merchant, made on first use, its private half sealed with AES-256-GCM under a key derived
 * by HKDF-SHA256 from the merchant's vault index key (so the master key wraps it and rotates
 * with it), its public half published as a JWKS.
 */
export class Issuer {
  private readonly keys = new Map<string, Promise<IssuerKey>>();

  constructor(
    private readonly db: Queryable,
    private readonly vault: Vault,
    private readonly clock: Clock,
    /** The node's public address; "" (tests, a node without one) uses a URN for issuers. */
    private readonly publicUrl: () => string,
  ) {}

  /** The issuer's id in credentials: the merchant's issuer URL, or a URN without an address. */
  issuerId(merchantId: string): string {
    const base = this.publicUrl();
    return base ? `${base}/v1/merchants/${merchantId}/issuer` : `urn:patron:merchant:${merchantId}`;
  }

  async jwks(merchantId: string): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.key(merchantId)).publicJwk] };
  }

  /** A W3C VC 2.0 consent receipt as a JWT (`typ: vc+jwt`), signed with the issuer key. */
  async receipt(f: ReceiptFacts): Promise<string> {
    const k = await this.key(f.merchantId);
    const issuer = this.issuerId(f.merchantId);
    const credential = {
      "@context": ["https://www.w3.org/ns/credentials/v2"],
      id: `urn:patron:consent:${f.consentId}`,
      type: ["VerifiableCredential", "ConsentReceipt"],
      issuer,
      validFrom: f.validFrom,
      validUntil: f.validUntil,
      credentialSubject: {
        ...(f.signer ? { id: f.signer } : {}),
        consent: {
          id: f.consentId,
          controller: f.merchantId,
          grantee: f.grantee,
          purposes: f.purposes,
          categories: f.categories,
          method: f.method,
          status: f.status,
          entryIndex: f.entryIndex,
          ...(f.textVersion
            ? { textVersion: f.textVersion, textCommitment: f.textCommitment }
            : {}),
        },
      },
    };
    return new SignJWT(credential)
      .setProtectedHeader({ alg: "EdDSA", typ: "vc+jwt", cty: "vc", kid: k.kid })
      .setIssuer(issuer)
      .setJti(credential.id)
      .setIssuedAt(Math.floor(this.clock.now() / 1000))
      .sign(k.privateKey);
  }

  private key(merchantId: string): Promise<IssuerKey> {
    let found = this.keys.get(merchantId);
    if (!found) {
      found = this.load(merchantId);
      this.keys.set(merchantId, found);
      found.catch(() => this.keys.delete(merchantId));
    }
    return found;
  }

  private async sealingKey(merchantId: string): Promise<Uint8Array> {
    const base = await this.vault.merchantIndexKey(merchantId);
    return new Uint8Array(
      hkdfSync("sha256", base, Buffer.alloc(0), `patron-issuer/v1/${merchantId}`, 32),
    );
  }

  private async load(merchantId: string): Promise<IssuerKey> {
    const read = async () =>
      (
        await this.db.query<{ kid: string; public_jwk: string; sealed: string }>(
          `SELECT kid, public_jwk, encode(sealed, 'hex') AS sealed FROM consent_issuer_keys
           WHERE merchant_id = $1`,
          [merchantId],
        )
      ).rows[0];
    let row = await read();
    if (!row) {
      const { privateKey } = generateKeyPairSync("ed25519");
      const jwk = privateKey.export({ format: "jwk" }) as JWK;
      const publicJwk: JWK = { kty: "OKP", crv: "Ed25519", x: jwk.x as string };
      const kid = await calculateJwkThumbprint(publicJwk);
      const sealed = seal(
        await this.sealingKey(merchantId),
        Buffer.from(JSON.stringify(jwk), "utf8"),
        associated(merchantId, kid),
      );
      // Two requests making the first key at once keep the one written first.
      await this.db.query(
        `INSERT INTO consent_issuer_keys (merchant_id, kid, public_jwk, sealed, created_at)
         VALUES ($1, $2, $3, decode($4, 'hex'), $5) ON CONFLICT (merchant_id) DO NOTHING`,
        [
          merchantId,
          kid,
          JSON.stringify({ ...publicJwk, kid, alg: "EdDSA", use: "sig" }),
          toHex(sealed),
          new Date(this.clock.now()).toISOString(),
        ],
      );
      row = await read();
    }
    if (!row) throw new Error(`no issuer key for merchant ${merchantId}`);
    const plain = openSealed(
      await this.sealingKey(merchantId),
      Buffer.from(row.sealed, "hex"),
      associated(merchantId, row.kid),
    );
    if (!plain) throw new Error(`the issuer key of merchant ${merchantId} does not open`);
    const privateKey = createPrivateKey({
      key: JSON.parse(Buffer.from(plain).toString("utf8")),
      format: "jwk",
    });
    return { kid: row.kid, publicJwk: JSON.parse(row.public_jwk) as JWK, privateKey };
  }
}
