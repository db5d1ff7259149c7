import type { JsonValue } from "@patron/ledger";
import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import { CustomerView } from "../customers/routes.js";
import type { Queryable } from "../db/database.js";
import type { SubjectExports } from "../domain.js";
import { type App, customerOf, requireCustomer } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, Limit, Position, toHex } from "../http/schemas.js";
import type { ProofService } from "../ledger/proofs.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { checkpointAt, getEntry, partyEntries, type StoredEntry } from "../ledger/store.js";
import type { AccessLog } from "../privacy/access-log.js";
import type { Purposes } from "../privacy/purposes.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import type { Vault } from "../vault/vault.js";

export interface PortalDeps {
  db: Queryable;
  sequencer: Sequencer;
  proofs: ProofService;
  vault: Vault;
  customers: Customers;
  tenancy: Tenancy;
  exports: SubjectExports;
  /** The log's verifier key, for the export to carry. */
  verifierKey: string;
  /** The access log: the customer sees every use of their data (decision 11). */
  access: AccessLog;
  /** The merchant's purposes: a record names one by id, the customer reads its name. */
  purposes: Purposes;
}

const FieldView = z.object({
  customerId: z.string(),
  field: z.string(),
  version: z.number().describe("the index of the entry that set it"),
  value: z.unknown(),
  salt: z.string().describe("base64url: with the value, recomputes the entry's commitment"),
});

const ProvenEntry = z.object({
  index: z.number(),
  data: z.string().describe("the entry's canonical bytes, base64"),
  proof: z.array(z.string()).describe("inclusion proof in the checkpoint's tree (hex)"),
});

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/**
 * What the portal shows a signed-in customer and checks itself (decisions 4, 7): every stored
 * version of their fields with its salt, their entries with inclusion proofs in one signed
 * checkpoint, and the export bundle that `patron verify` checks offline.
 */
/** Whose data: a customer's records at a merchant (a portal session, or staff for a request). */
export interface Who {
  merchantId: string;
  customerId: string;
  /** The key they sign with, when they have one. */
  actor: string | null;
  records: readonly string[];
}

/**
 * What a customer is shown of themselves (decisions 4, 7, 11): every stored version of their
 * fields with its salt, their entries with inclusion proofs in one signed checkpoint, every use
 * of their data with its proof, and all of it as one export bundle.
 */
export class CustomerData {
  /** The one of each ledger, for the domains that export on a customer's behalf (requests). */
  static readonly instances = new WeakMap<Sequencer, CustomerData>();

  constructor(private readonly d: PortalDeps) {}

  /** Every stored value of the customer's records; none once erased. */
  async fields(who: Who) {
    const out: z.infer<typeof FieldView>[] = [];
    for (const id of who.records) {
      const values = await this.d.vault.history(who.merchantId, id).catch((err) => {
        if (err instanceof VaultError && err.code === "erased") return [];
        throw err;
      });
      for (const v of values) {
        out.push({
          customerId: id,
          field: v.field,
          version: v.version,
          value: v.value,
          salt: b64url(v.salt),
        });
      }
    }
    return out;
  }

  /**
   * The records' entries below `before`, newest first, proven in the latest checkpoint, or in
   * the stored checkpoint of exactly `size` entries (so that every page of one walk is proven
   * in the same tree, however the log grows meanwhile).
   */
  async history(who: Who, before: bigint | undefined, limit: number, size?: bigint) {
    let head: { size: bigint; note: string } = this.d.sequencer.head;
    if (size !== undefined && size !== head.size) {
      const cp = size < head.size ? await checkpointAt(this.d.db, size) : undefined;
      if (!cp) {
        throw new ApiError(
          404,
          "not_found",
          `no checkpoint was signed at size ${size}: give the size of a previous page's checkpoint`,
        );
      }
      head = cp;
    }
    const upTo = before !== undefined && before < head.size ? before : head.size;
    const rows = await partyEntries(this.d.db, who.records, upTo, limit + 1);
    const page = rows.slice(0, limit);
    const entries = await this.proven(page, head.size);
    const last = page[page.length - 1];
    return {
      size: Number(head.size),
      checkpoint: head.note,
      records: [...who.records],
      entries,
      next: rows.length > limit && last ? Number(last.index) : null,
    };
  }

  /**
   * The customer's access records (newest first) and the batch entries that committed them,
   * proven in the latest checkpoint. Who used the data is the role, never the employee.
   */
  async dataUse(who: Who, limit: number) {
    const head = this.d.sequencer.head;
    const records = [];
    for (const id of who.records) {
      const page = await this.d.access.list(who.merchantId, id, { limit });
      records.push(...page.records);
    }
    records.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const shown = records.slice(0, limit);
    const indexes = [
      ...new Set(shown.flatMap((r) => (r.batch ? [r.batch.entryIndex] : []))),
    ].filter((i) => BigInt(i) < head.size);
    const stored = await Promise.all(
      indexes.map(async (i) => {
        const e = await getEntry(this.d.db, BigInt(i));
        if (!e) throw new Error(`access batch ${i} is missing from the log`);
        return e;
      }),
    );
    const batches = await this.proven(stored, head.size);
    return {
      size: Number(head.size),
      checkpoint: head.note,
      records: shown.map(({ batch, ...r }) => ({
        ...r,
        batch: batch
          ? {
              entryIndex: batch.entryIndex,
              leafIndex: batch.leafIndex,
              size: batch.size,
              proof: batch.proof,
            }
          : null,
      })),
      batches,
    };
  }

  /**
   * The names the merchant declared for its purposes (retired ones too: older records name
   * them), so the customer reads "Fraud prevention" rather than an id. Not part of any record.
   */
  async purposeNames(merchantId: string): Promise<{ id: string; name: string }[]> {
    const all = await this.d.purposes.list(merchantId);
    return all.map((p) => ({ id: p.id, name: p.name }));
  }

  /** Entries with their inclusion proofs in the tree of `size` (their tiles read once). */
  private async proven(rows: readonly StoredEntry[], size: bigint) {
    const proofs = await this.d.proofs.inclusionMany(
      rows.map((r) => r.index),
      size,
    );
    return rows.map((r, i) => ({
      index: Number(r.index),
      data: Buffer.from(r.data).toString("base64"),
      proof: (proofs[i] ?? []).map(toHex),
    }));
  }

  /** The export bundle (Art. 15/20) that `patron verify` checks offline. */
  async export(who: Who): Promise<Record<string, JsonValue>> {
    const d = this.d;
    const profile = await d.customers.get(who.merchantId, who.customerId);
    const merchant = await d.tenancy.merchant(who.merchantId);
    if (!profile || !merchant) throw new ApiError(404, "not_found", "no profile");
    // One checkpoint for every entry: read them all (a customer's chain is short).
    const entries: z.infer<typeof ProvenEntry>[] = [];
    let page = await this.history(who, undefined, 1000);
    const { size, checkpoint } = page;
    for (;;) {
      entries.push(...page.entries);
      if (page.next === null) break;
      const more = await partyEntries(d.db, who.records, BigInt(page.next), 1000);
      page = {
        size,
        checkpoint,
        records: page.records,
        next: more.length === 1000 ? Number(more[more.length - 1]?.index) : null,
        entries: await this.proven(more, BigInt(size)),
      };
    }
    const sections: Record<string, JsonValue> = {
      dataUse: (await this.dataUse(who, 100_000)) as unknown as JsonValue,
    };
    for (const [name, collect] of d.exports.sections) {
      sections[name] = await collect(who.merchantId, who.records);
    }
    return {
      format: "patron-export/v1",
      exportedAt: new Date(d.sequencer.now).toISOString(),
      merchant,
      customer: { id: who.customerId, key: who.actor, records: [...who.records] },
      ledger: { verifierKey: d.verifierKey, size, checkpoint },
      profile: CustomerView.parse(profile) as unknown as JsonValue,
      fields: (await this.fields(who)) as unknown as JsonValue,
      entries: entries as unknown as JsonValue,
      sections,
    };
  }
}

export function portalRoutes(app: App, data: CustomerData) {
  const tags = ["portal"];
  const security = [{ customerSession: [] }];

  app.get(
    "/v1/portal/data-access",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary:
          "Every use of the customer's personal data: when, for what purpose, on which basis, by which role",
        description:
          "Each record comes with its proof against the `access.recorded` entry that committed it, and that entry with its proof in the checkpoint (verifyAccessRecords in @patron/ledger). Records of the last few seconds are pending (`batch: null`).",
        querystring: z.strictObject({ limit: Limit(1000, 200) }),
        response: {
          200: z.object({
            size: z.number(),
            checkpoint: z.string(),
            records: z.array(
              z.object({
                id: z.string(),
                merchantId: z.string(),
                customerId: z.string(),
                at: z.string(),
                role: z.string(),
                purpose: z.string(),
                basis: z.string(),
                categories: z.array(z.string()),
                action: z.string(),
                batch: z
                  .object({
                    entryIndex: z.number(),
                    leafIndex: z.number(),
                    size: z.number(),
                    proof: z.array(z.string()),
                  })
                  .nullable(),
              }),
            ),
            batches: z.array(ProvenEntry),
            purposes: z
              .array(z.object({ id: z.string(), name: z.string() }))
              .describe("the merchant's purposes by id, with the names it declared for them"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const [use, purposes] = await Promise.all([
        data.dataUse(who, req.query.limit),
        data.purposeNames(who.merchantId),
      ]);
      return { ...use, purposes };
    },
  );

  app.get(
    "/v1/portal/fields",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary: "Every stored version of the customer's personal fields, with its salt",
        response: { 200: z.object({ fields: z.array(FieldView) }), ...errorResponses },
      },
    },
    async (req) => ({ fields: await data.fields(customerOf(req)) }),
  );

  app.get(
    "/v1/portal/history",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary:
          "The customer's entries, newest first, each with its inclusion proof in the latest signed checkpoint",
        description:
          "Walk the chain from the newest entry along `subjects[].prev` (decision 7); page on with `before=next` and `size` (the first page's), so that every page is proven in the same checkpoint. `records` are the customer's record ids the entries name (`verifyHistory` needs them).",
        querystring: z.strictObject({
          before: Position.optional().describe(
            "entries below this index (the previous page's next)",
          ),
          limit: Limit(1000, 500),
          size: Position.optional().describe(
            "prove in the stored checkpoint of exactly this size (the first page's), not the latest",
          ),
        }),
        response: {
          200: z.object({
            size: z.number(),
            checkpoint: z.string().describe("the signed checkpoint note the proofs are in"),
            records: z
              .array(z.string())
              .describe("the customer's records: their own id, and those merged into it"),
            entries: z.array(ProvenEntry),
            next: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => data.history(customerOf(req), req.query.before, req.query.limit, req.query.size),
  );

  app.get(
    "/v1/portal/export",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary: "Everything about the customer in one JSON bundle (GDPR Art. 15 and 20)",
        description:
          "The profile, every field value with its salt, every entry about them with its inclusion proof in one signed checkpoint, the log's verifier key, and what each domain holds (consents, the data-use log). `patron verify <file>` checks it offline.",
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async (req, reply) => {
      const who = customerOf(req);
      const bundle = await data.export(who);
      reply.header(
        "content-disposition",
        `attachment; filename="patron-export-${who.customerId}.json"`,
      );
      return bundle;
    },
  );
}
