import type { Queryable } from "../db/database.js";
import { parseCondition } from "../segments/condition.js";
import { filterOf } from "../segments/segments.js";

/**
 * The merchant's live segments each of these customers is in, by customer: rules read them as
 * `customer.segments` (scope `segments`). One query per segment, over these customers only.
 */
export async function segmentsOf(
  db: Queryable,
  merchantId: string,
  customerIds: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(customerIds.map((c) => [c, []]));
  if (customerIds.length === 0) return out;
  const { rows } = await db.query<{ id: string; condition: unknown }>(
    "SELECT id, condition FROM segments WHERE merchant_id = $1 AND status = 'active' ORDER BY id",
    [merchantId],
  );
  for (const s of rows) {
    const condition = typeof s.condition === "string" ? JSON.parse(s.condition) : s.condition;
    const params: unknown[] = [merchantId, [...customerIds]];
    const where = filterOf(parseCondition(condition))(params);
    const members = await db.query<{ id: string }>(
      `SELECT id FROM customers WHERE merchant_id = $1 AND id = ANY($2::text[]) AND (${where})`,
      params,
    );
    for (const m of members.rows) out.get(m.id)?.push(s.id);
  }
  return out;
}
