import { createHmac } from "node:crypto";

/**
 * Blind indexes (decision 4): an HMAC-SHA256, under the merchant's index key, of a normalised
 * value. Exact identifiers (email, phone, channel identities) keep the whole HMAC: equal values
 * meet, nothing else does. Name tokens keep only NAME_INDEX_BITS of it, so many names share each
 * index value: the index cannot tell how common a name is, and the candidates it finds are
 * decrypted and filtered.
 */
export const NAME_INDEX_BITS = 12;

export function blindIndex(indexKey: Uint8Array, kind: string, normalised: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", indexKey).update(`${kind}\0${normalised}`).digest());
}

/** The first NAME_INDEX_BITS of the name token's HMAC, as two bytes. */
export function nameIndex(indexKey: Uint8Array, token: string): Uint8Array {
  const full = blindIndex(indexKey, "name", token);
  const value = ((full[0] as number) << 8) | (full[1] as number);
  const kept = value >> (16 - NAME_INDEX_BITS);
  return new Uint8Array([kept >> 8, kept & 0xff]);
}

/** Email as indexes compare it: trimmed and lower-cased (the whole address, RFC 5321 aside). */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const HAN = /\p{Script=Han}/u;

// Two-character Chinese surnames (复姓): the rest of the name is the given name.
const COMPOUND_SURNAMES = new Set(
  "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 夏侯 轩辕 令狐 宇文 司徒 司空 端木 独孤 南宫 西门 百里 呼延 申屠 澹台 太史 闻人 钟离 万俟 赫连 拓跋".split(
    " ",
  ),
);

/**
 * The tokens a name is found by, case- and accent-insensitive: each Latin word ("José García" →
 * jose, garcia); a Chinese name whole, and by its surname and given name ("欧阳娜娜" → 欧阳娜娜,
 * 欧阳, 娜娜).
 */
export function nameTokens(name: string): string[] {
  const folded = fold(name);
  const tokens = new Set<string>();
  for (const word of folded.split(/\s+/)) {
    if (word === "") continue;
    tokens.add(word);
    if (HAN.test(word) && word.length >= 2) {
      const two = word.slice(0, 2);
      const surname = word.length >= 3 && COMPOUND_SURNAMES.has(two) ? two : word.slice(0, 1);
      tokens.add(surname);
      tokens.add(word.slice(surname.length));
    }
  }
  return [...tokens];
}

/**
 * The words of a search, folded as names are: each must be one of the name's tokens, so "欧阳"
 * finds 欧阳娜娜 by its surname without asking for 欧 and 阳 too.
 */
export function queryTokens(query: string): string[] {
  return [
    ...new Set(
      fold(query)
        .split(/\s+/)
        .filter((w) => w !== ""),
    ),
  ];
}

const fold = (s: string) =>
  s
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, " ");

/** True when `query`'s words all appear among the name's tokens: how candidates are filtered. */
export function nameMatches(name: string, query: string): boolean {
  const have = new Set(nameTokens(name));
  const want = queryTokens(query);
  return want.length > 0 && want.every((t) => have.has(t));
}
