import { canonicalBytes, sha256 } from "@patron/ledger";
import type { Queryable, Statement } from "../db/database.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { actorOf, type Principal } from "../tenancy/roles.js";

/**
 * Attestations notarise a document digest: a merchant timestamps a contract, its terms or a
 * price list, and anyone holding the document can later prove it existed, unchanged, at that
 * index of the log. Only the digest and short labels go on the ledger, never the document.
 */
export interface AttestationInput {
  digest: string;
  subject?: string;
  note?: string;
  /** Private notarisation: the entry is sealed (decision 6), shown whole only to the merchant. */
  sealed?: boolean;
}

export const ATTESTATION = "attestation.created";

export const attestationProjector: Projector = {
  types: [ATTESTATION],
  tables: ["attestations"],
  statements(entries: CommittedEntry[]): Statement[] {
    const p = entries.map(
      (e) => e.entry.payload as unknown as { merchantId: string } & AttestationInput,
    );
    const sql = `INSERT INTO attestations (entry_idx, merchant_id, digest, subject, note, created_at, sealed)
       SELECT i, m, decode(d, 'hex'), s, n, t, z
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
         $7::boolean[]) AS x(i, m, d, s, n, t, z)`;
    const params = [
      entries.map((e) => e.index.toString()),
      p.map((a) => a.merchantId),
      p.map((a) => a.digest),
      p.map((a) => a.subject ?? null),
      p.map((a) => a.note ?? null),
      entries.map((e) => e.entry.time),
      entries.map((e) => e.entry.salt !== undefined),
    ];
    return [{ sql, params }];
  },
};

export function attest(
  sequencer: Sequencer,
  by: Principal,
  input: AttestationInput,
  idempotencyKey?: string,
): Promise<CommittedEntry> {
  const payload = {
    merchantId: by.merchantId,
    digest: input.digest.toLowerCase(),
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    ...(input.note !== undefined ? { note: input.note } : {}),
  };
  const sealed = input.sealed === true;
  return sequencer.submit(
    {
      type: ATTESTATION,
      actor: actorOf(by),
      payload,
      parties: [{ merchant: by.merchantId }],
      sealed,
    },
    idempotencyKey
      ? {
          scope: `attestations/${by.merchantId}`,
          key: idempotencyKey,
          requestHash: sha256(canonicalBytes({ ...payload, sealed })),
        }
      : undefined,
  );
}

/** Public attestations of a digest, and the sealed ones of `viewer` (the caller's merchant). */
export async function findAttestations(
  db: Queryable,
  digest: string,
  limit: number,
  viewer?: string,
) {
  const { rows } = await db.query(
    `SELECT entry_idx, merchant_id, subject, note, created_at, sealed FROM attestations
     WHERE digest = decode($1, 'hex') AND (NOT sealed OR merchant_id = $3)
     ORDER BY entry_idx LIMIT $2`,
    [digest.toLowerCase(), limit, viewer ?? null],
  );
  return rows.map((r) => ({
    index: Number(r.entry_idx),
    merchantId: String(r.merchant_id),
    digest: digest.toLowerCase(),
    subject: (r.subject as string | null) ?? null,
    note: (r.note as string | null) ?? null,
    time: new Date(r.created_at as string).toISOString(),
    sealed: r.sealed === true,
  }));
}
