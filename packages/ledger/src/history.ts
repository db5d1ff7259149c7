import { decodeEntry, type Entry } from "./canonical.js";
import { verifyCheckpoint } from "./checkpoint.js";
import { verifyCommand } from "./command.js";
import { commitment } from "./commitment.js";
import { decodeBase64, decodeBase64Url, decodeHex, encodeBase64Url } from "./encoding.js";
import { hashLeaf } from "./hash.js";
import { canonicalBytes, type JsonValue } from "./json.js";
import { verifyInclusion } from "./merkle.js";
import type { NoteVerifier } from "./note.js";

/** One entry of a party's history as the node serves it: its bytes and inclusion proof. */
export interface ProvenEntry {
  index: number;
  /** The entry's canonical bytes, base64. */
  data: string;
  /** The inclusion proof in the checkpoint's tree, hex hashes, leaf's sibling first. */
  proof: string[];
}

/** One stored version of a personal field: with its salt, the entry's commitment is recomputed. */
export interface FieldValue {
  customerId: string;
  field: string;
  /** The index of the entry that set it. */
  version: number;
  value: JsonValue;
  /** base64url. */
  salt: string;
}

export interface HistoryCheck {
  /** The checkpoint every entry was proven in. */
  size: bigint;
  origin: string;
  /** Entries verified, newest first. */
  entries: { index: number; entry: Entry }[];
  /** Field values whose commitments were found in their entries. */
  fields: number;
  /** Empty when everything verified: otherwise what did not, one line each. */
  problems: string[];
  /**
   * The chain walk (decision 7): from the newest entry, every `prev` of the records named led to
   * an entry served, and none served was off the chain. `gap` names the first missing index.
   */
  chain: { complete: boolean; gap?: number };
}

/** Whether an entry's payload carries this commitment (base64url) anywhere. */
function carries(payload: JsonValue, c: string): boolean {
  if (payload === c) return true;
  if (Array.isArray(payload)) return payload.some((p) => carries(p, c));
  if (payload && typeof payload === "object")
    return Object.values(payload).some((p) => carries(p, c));
  return false;
}

/**
 * Verifies a customer's history as the portal, `patron verify` and auditors do: the checkpoint's
 * signature, every entry's inclusion proof in it, every customer signature an entry keeps, every
 * field's commitment in the entry that set it, and that the records' chains run through the
 * entries served with no gap. Pure: it trusts only `verifierKey` (and the records it is told).
 */
export function verifyHistory(input: {
  checkpoint: string;
  verifierKey: string | NoteVerifier;
  origin?: string;
  /** The customer's records: their own id, and any merged into it. */
  records: readonly string[];
  entries: readonly ProvenEntry[];
  fields?: readonly FieldValue[];
  /** Origins passkey assertions may come from; any when omitted (offline). */
  webauthnOrigins?: readonly string[];
}): HistoryCheck {
  const problems: string[] = [];
  const cp = verifyCheckpoint(input.checkpoint, input.verifierKey, { origin: input.origin });
  const byIndex = new Map<number, Entry>();
  const out: { index: number; entry: Entry }[] = [];
  for (const e of input.entries) {
    let data: Uint8Array;
    let entry: Entry;
    try {
      data = decodeBase64(e.data);
      entry = decodeEntry(data);
    } catch (err) {
      problems.push(`entry ${e.index}: not a valid entry (${(err as Error).message})`);
      continue;
    }
    let proof: Uint8Array[];
    try {
      proof = e.proof.map(decodeHex);
    } catch {
      problems.push(`entry ${e.index}: malformed proof`);
      continue;
    }
    if (!verifyInclusion(BigInt(e.index), cp.size, hashLeaf(data), proof, cp.root)) {
      problems.push(`entry ${e.index}: not in the checkpoint's tree of ${cp.size} entries`);
      continue;
    }
    const names = entry.subjects?.some(
      (s) => "customer" in s && input.records.includes(s.customer),
    );
    if (!names) problems.push(`entry ${e.index}: does not name the customer`);
    if (entry.signed) {
      try {
        verifyCommand(entry.signed, {
          ...(input.webauthnOrigins ? { origins: input.webauthnOrigins } : {}),
        });
        if (entry.actor !== entry.signed.command.actor) {
          problems.push(`entry ${e.index}: its actor is not the command's signer`);
        }
      } catch (err) {
        problems.push(`entry ${e.index}: signature does not verify (${(err as Error).message})`);
      }
    }
    byIndex.set(e.index, entry);
    out.push({ index: e.index, entry });
  }
  out.sort((a, b) => b.index - a.index);

  // The walk: from the newest entry along every record's `prev`.
  const seen = new Set<number>();
  const todo = out.length > 0 ? [out[0]?.index as number] : [];
  let gap: number | undefined;
  while (todo.length > 0) {
    const i = todo.pop() as number;
    if (seen.has(i)) continue;
    const entry = byIndex.get(i);
    if (!entry) {
      gap ??= i;
      continue;
    }
    seen.add(i);
    for (const s of entry.subjects ?? []) {
      if ("customer" in s && input.records.includes(s.customer) && s.prev !== null) {
        todo.push(s.prev);
      }
    }
  }
  if (gap !== undefined) problems.push(`chain: entry ${gap} is missing`);
  for (const { index } of out) {
    if (!seen.has(index)) problems.push(`chain: entry ${index} is not on the customer's chain`);
  }

  let fields = 0;
  for (const f of input.fields ?? []) {
    const entry = byIndex.get(f.version);
    if (!entry) {
      problems.push(`field ${f.field}: its entry ${f.version} was not served`);
      continue;
    }
    const c = encodeBase64Url(
      commitment(decodeBase64Url(f.salt), {
        customer: f.customerId,
        field: f.field,
        version: f.version,
        value: f.value,
      }),
    );
    if (!carries(entry.payload, c)) {
      problems.push(`field ${f.field}: its value does not match entry ${f.version}'s commitment`);
      continue;
    }
    fields++;
  }
  return {
    size: cp.size,
    origin: cp.origin,
    entries: out,
    fields,
    problems,
    chain: gap === undefined ? { complete: true } : { complete: false, gap },
  };
}

/** One use of a customer's data, as the access log commits it (decision 11). */
export interface AccessRecordView {
  id: string;
  merchantId: string;
  customerId: string;
  at: string;
  role: string;
  purpose: string;
  basis: string;
  categories: string[];
  action: string;
  /** Its place in the batch entry that committed it; null while pending. */
  batch: { entryIndex: number; leafIndex: number; size: number; proof: string[] } | null;
}

/**
 * Verifies access records against the batch entries that committed them: each record's leaf
 * SHA-256(0x00 ‖ JCS(record)) is in the batch's tree, whose root the `access.recorded` entry
 * holds, and that entry is in the checkpoint's tree. Returns the problems (empty: all proven)
 * and how many records are still pending (not yet committed).
 */
export function verifyAccessRecords(input: {
  checkpoint: string;
  verifierKey: string | NoteVerifier;
  records: readonly AccessRecordView[];
  /** The batch entries, by index, each with its inclusion proof in the checkpoint. */
  batches: readonly ProvenEntry[];
}): { proven: number; pending: number; problems: string[] } {
  const cp = verifyCheckpoint(input.checkpoint, input.verifierKey);
  const problems: string[] = [];
  const roots = new Map<number, string>();
  for (const b of input.batches) {
    try {
      const data = decodeBase64(b.data);
      const entry = decodeEntry(data);
      if (
        !verifyInclusion(BigInt(b.index), cp.size, hashLeaf(data), b.proof.map(decodeHex), cp.root)
      ) {
        problems.push(`batch ${b.index}: not in the checkpoint's tree`);
        continue;
      }
      const root = (entry.payload as { root?: unknown } | null)?.root;
      if (entry.type !== "access.recorded" || typeof root !== "string") {
        problems.push(`batch ${b.index}: not an access batch`);
        continue;
      }
      roots.set(b.index, root);
    } catch (err) {
      problems.push(`batch ${b.index}: ${(err as Error).message}`);
    }
  }
  let proven = 0;
  let pending = 0;
  for (const r of input.records) {
    if (!r.batch) {
      pending++;
      continue;
    }
    const { batch, ...record } = r;
    const root = roots.get(batch.entryIndex);
    if (!root) {
      problems.push(`record ${r.id}: its batch ${batch.entryIndex} was not served`);
      continue;
    }
    const leaf = hashLeaf(canonicalBytes(record as unknown as JsonValue));
    const ok = verifyInclusion(
      batch.leafIndex,
      batch.size,
      leaf,
      batch.proof.map(decodeHex),
      decodeHex(root),
    );
    if (!ok) problems.push(`record ${r.id}: not in its batch's tree`);
    else proven++;
  }
  return { proven, pending, problems };
}
