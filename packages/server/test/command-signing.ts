import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

/**
 * Signs commands the way a client outside Patron would: node:crypto's Ed25519 and a canonical
 * JSON of its own, no @patron/ledger. If the server accepts these, the format is exactly the
 * one decision 5 gives, not whatever the library happens to do.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** RFC 8785 for the plain data of a test command (strings, integers, objects, arrays). */
export function jcs(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v[k] as Json)}`).join(",")}}`;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes: Uint8Array): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = (B58[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

export interface Signer {
  did: string;
  sign(command: Record<string, Json>): { command: Record<string, Json>; signature: string };
}

export function ed25519Signer(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return signerFor(privateKey, publicKey);
}

function signerFor(privateKey: KeyObject, publicKey: KeyObject): Signer {
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const did = `did:key:z${base58(Buffer.concat([Buffer.from([0xed, 0x01]), raw]))}`;
  return {
    did,
    sign(command) {
      const bytes = Buffer.concat([Buffer.from("patron-command/v1\n"), Buffer.from(jcs(command))]);
      return { command, signature: sign(null, bytes, privateKey).toString("base64url") };
    },
  };
}

export const nonce = () => randomBytes(16).toString("base64url");
