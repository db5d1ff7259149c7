// Byte/text helpers that work the same in Node and browsers (Buffer is Node-only).

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard RFC 4648 §4 base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      B64.charAt(n >>> 18) +
      B64.charAt((n >>> 12) & 63) +
      B64.charAt((n >>> 6) & 63) +
      B64.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}${B64[(n >>> 6) & 63]}=`;
  }
  return out;
}

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const v = c < 128 ? (B64_INDEX[c] as number) : -1;
  if (v < 0) throw new TypeError("invalid base64: unexpected character");
  return v;
}

/**
 * Strict standard base64: padding required, no whitespace, and unused trailing bits must be
 * zero, so every byte string has exactly one accepted encoding (no malleable signatures/keys).
 */
export function decodeBase64(s: string): Uint8Array {
  if (typeof s !== "string" || s.length % 4 !== 0) {
    throw new TypeError("invalid base64: length is not a multiple of 4");
  }
  let pad = 0;
  if (s.endsWith("==")) pad = 2;
  else if (s.endsWith("=")) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  const full = pad === 0 ? s.length : s.length - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const n =
      (sextet(s, i) << 18) | (sextet(s, i + 1) << 12) | (sextet(s, i + 2) << 6) | sextet(s, i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (pad === 2) {
    const a = sextet(s, full);
    const b = sextet(s, full + 1);
    if ((b & 15) !== 0) throw new TypeError("invalid base64: non-zero padding bits");
    out[o] = (a << 2) | (b >>> 4);
  } else if (pad === 1) {
    const a = sextet(s, full);
    const b = sextet(s, full + 1);
    const c = sextet(s, full + 2);
    if ((c & 3) !== 0) throw new TypeError("invalid base64: non-zero padding bits");
    out[o++] = (a << 2) | (b >>> 4);
    out[o] = ((b & 15) << 4) | (c >>> 2);
  }
  return out;
}

/** Like decodeBase64 but returns undefined instead of throwing. */
export function tryDecodeBase64(s: string): Uint8Array | undefined {
  try {
    return decodeBase64(s);
  } catch {
    return undefined;
  }
}

/** RFC 4648 §5 base64url without padding, the form JWS, WebAuthn and Patron commands use. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Strict base64url without padding: no `=`, no whitespace, no standard-alphabet `+` or `/`, and
 * unused trailing bits must be zero, so each byte string has exactly one accepted encoding.
 */
export function decodeBase64Url(s: string): Uint8Array {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new TypeError("invalid base64url: unexpected character");
  }
  if (s.length % 4 === 1) throw new TypeError("invalid base64url: impossible length");
  const padded = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  return decodeBase64(padded);
}

/** Like decodeBase64Url but returns undefined instead of throwing. */
export function tryDecodeBase64Url(s: string): Uint8Array | undefined {
  try {
    return decodeBase64Url(s);
  } catch {
    return undefined;
  }
}

const HEX = "0123456789abcdef";

/** Lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX.charAt(b >>> 4) + HEX.charAt(b & 15);
  return out;
}

/** Accepts either case; rejects odd lengths and non-hex characters. */
export function decodeHex(s: string): Uint8Array {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new TypeError("invalid hex string");
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 must be an error, never silently replaced with U+FFFD.
// ignoreBOM: a leading BOM is data, not something to strip before comparing bytes.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean })
  .isWellFormed;

/** True when the string has no lone surrogates, i.e. it round-trips through UTF-8. */
export function isWellFormedUnicode(s: string): boolean {
  // ES2024 String.prototype.isWellFormed is native in Node 20 and current browsers.
  if (nativeIsWellFormed) return nativeIsWellFormed.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** UTF-8 encoding; throws TypeError on lone surrogates instead of writing U+FFFD. */
export function utf8Encode(s: string): Uint8Array {
  if (!isWellFormedUnicode(s)) throw new TypeError("string is not well-formed Unicode");
  return encoder.encode(s);
}

/** Strict UTF-8 decoding; throws TypeError on invalid input. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte equality. Not constant-time: only public data (hashes, roots) is compared with it. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Bitcoin-alphabet base58 (multibase "z"), used by did:key. Meant for short inputs like keys. */
export function encodeBase58(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = B58.charAt(Number(n % 58n)) + out;
    n /= 58n;
  }
  return "1".repeat(zeros) + out;
}

export function decodeBase58(s: string): Uint8Array {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === "1") zeros++;
  let n = 0n;
  for (const ch of s) {
    const v = B58.indexOf(ch);
    if (v < 0) throw new TypeError("invalid base58 string");
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  while (n > 0n) {
    body.unshift(Number(n & 255n));
    n >>= 8n;
  }
  return new Uint8Array([...new Array<number>(zeros).fill(0), ...body]);
}
