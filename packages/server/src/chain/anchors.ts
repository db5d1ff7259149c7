import { big, type Queryable } from "../db/database.js";

/** Rows of the anchoring outbox (`ledger_anchors`). */
export type AnchorStatus = "signed" | "sent" | "confirmed" | "failed";

export interface AnchorRow {
  id: bigint;
  size: bigint;
  root: Uint8Array;
  chainId: number;
  contract: string;
  status: AnchorStatus;
  nonce: number | null;
  txHash: string | null;
  rawTx: string | null;
  blockNumber: bigint | null;
  blockHash: string | null;
  confirmations: number;
  attempts: number;
  error: string | null;
  createdAt: Date;
  sentAt: Date | null;
  confirmedAt: Date | null;
}

const COLUMNS = `id, size, encode(root, 'hex') AS root, chain_id, contract, status, nonce, tx_hash, raw_tx,
  block_number, block_hash, confirmations, attempts, error, created_at, sent_at, confirmed_at`;

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function toRow(r: Record<string, unknown>): AnchorRow {
  return {
    id: big(r.id),
    size: big(r.size),
    root: new Uint8Array(Buffer.from(String(r.root), "hex")),
    chainId: Number(r.chain_id),
    contract: String(r.contract),
    status: r.status as AnchorStatus,
    nonce: r.nonce === null ? null : Number(r.nonce),
    txHash: (r.tx_hash as string | null) ?? null,
    rawTx: (r.raw_tx as string | null) ?? null,
    blockNumber: r.block_number === null ? null : big(r.block_number),
    blockHash: (r.block_hash as string | null) ?? null,
    confirmations: Number(r.confirmations),
    attempts: Number(r.attempts),
    error: (r.error as string | null) ?? null,
    createdAt: date(r.created_at) as Date,
    sentAt: date(r.sent_at),
    confirmedAt: date(r.confirmed_at),
  };
}

/**
 * Whether an anchor transaction was signed within the last `ms`: anchors are paced from it.
 * Measured by the database's clock, which also stamped the row.
 */
export async function anchoredWithin(db: Queryable, ms: number): Promise<boolean> {
  const { rows } = await db.query(
    "SELECT EXISTS (SELECT 1 FROM ledger_anchors WHERE created_at > now() - make_interval(secs => $1::float8 / 1000)) AS recent",
    [ms],
  );
  return rows[0]?.recent === true;
}

export async function inflightAnchor(db: Queryable): Promise<AnchorRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ledger_anchors WHERE status IN ('signed', 'sent') ORDER BY id LIMIT 1`,
  );
  return rows[0] ? toRow(rows[0]) : undefined;
}

/** The largest size anchored or being anchored: the next anchor must be larger. */
export async function highestAnchoredSize(db: Queryable): Promise<bigint> {
  const { rows } = await db.query(
    "SELECT max(size) AS m FROM ledger_anchors WHERE status <> 'failed'",
  );
  const m = rows[0]?.m;
  return m === null || m === undefined ? 0n : big(m);
}

export async function insertAnchor(
  db: Queryable,
  a: {
    size: bigint;
    root: Uint8Array;
    chainId: number;
    contract: string;
    nonce: number;
    txHash: string;
    rawTx: string;
  },
): Promise<bigint> {
  const { rows } = await db.query(
    `INSERT INTO ledger_anchors (size, root, chain_id, contract, status, nonce, tx_hash, raw_tx)
     VALUES ($1, decode($2, 'hex'), $3, $4, 'signed', $5, $6, $7) RETURNING id`,
    [
      a.size.toString(),
      Buffer.from(a.root).toString("hex"),
      a.chainId,
      a.contract,
      a.nonce,
      a.txHash,
      a.rawTx,
    ],
  );
  return big(rows[0]?.id);
}

export async function updateAnchor(
  db: Queryable,
  id: bigint,
  fields: Partial<{
    status: AnchorStatus;
    txHash: string;
    rawTx: string;
    blockNumber: bigint | null;
    blockHash: string | null;
    confirmations: number;
    attempts: number;
    error: string | null;
    sentAt: Date;
    confirmedAt: Date;
  }>,
): Promise<void> {
  const columns: Record<string, string> = {
    status: "status",
    txHash: "tx_hash",
    rawTx: "raw_tx",
    blockNumber: "block_number",
    blockHash: "block_hash",
    confirmations: "confirmations",
    attempts: "attempts",
    error: "error",
    sentAt: "sent_at",
    confirmedAt: "confirmed_at",
  };
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [k, v] of Object.entries(fields)) {
    params.push(typeof v === "bigint" ? v.toString() : v instanceof Date ? v.toISOString() : v);
    sets.push(`${columns[k]} = $${params.length}`);
  }
  if (sets.length === 0) return;
  params.push(id.toString());
  await db.query(
    `UPDATE ledger_anchors SET ${sets.join(", ")} WHERE id = $${params.length}`,
    params,
  );
}

export async function listAnchors(
  db: Queryable,
  limit: number,
  beforeId?: bigint,
): Promise<AnchorRow[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ledger_anchors WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
    [beforeId?.toString() ?? null, limit],
  );
  return rows.map(toRow);
}

/** The confirmed anchor with the smallest size ≥ `size`, if any. */
export async function confirmedAnchorCovering(
  db: Queryable,
  size: bigint,
): Promise<AnchorRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ledger_anchors WHERE status = 'confirmed' AND size >= $1 ORDER BY size LIMIT 1`,
    [size.toString()],
  );
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function latestConfirmedAnchor(db: Queryable): Promise<AnchorRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ledger_anchors WHERE status = 'confirmed' ORDER BY size DESC LIMIT 1`,
  );
  return rows[0] ? toRow(rows[0]) : undefined;
}
