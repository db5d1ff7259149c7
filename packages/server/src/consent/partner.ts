import type { Customers } from "../customers/customers.js";
import { timeline } from "../customers/timeline.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { AccessLog } from "../privacy/access-log.js";
import { actorOf, type Principal } from "../tenancy/roles.js";
import type { Vault } from "../vault/vault.js";
import type { Consents } from "./consents.js";
import type { ConsentCategory } from "./entries.js";
import { parsed } from "./state.js";
import { statusOf } from "./views.js";

/** What a partner gets: only the categories it asked for and the consent covers. */
export interface SharedData {
  consentId: string;
  purpose: string;
  categories: ConsentCategory[];
  data: {
    contact?: {
      name: string | null;
      emails: string[];
      phones: string[];
      address: Record<string, string> | null;
      identities: { type: string; value: string }[];
    };
    demographics?: {
      birthday: string | null;
      language: string | null;
      country: string | null;
      birthMonth: number | null;
      ageBand: string | null;
    };
    interactions?: {
      occurredAt: string;
      channel: string;
      direction: string;
      kind: string;
      summary: string | null;
      content: string | null;
    }[];
    purchase_history?: {
      occurredAt: string;
      channel: string;
      kind: string;
      amount: { value: number; currency: string } | null;
    }[];
    /** Loyalty is not recorded by this node yet: null until the loyalty issue lands. */
    loyalty?: null;
  };
}

/** How many interactions a read returns, newest first. */
const RECENT = 100;

const refusal = (why: string) => new ApiError(403, "consent_required", why);

/**
 * Partner reads (decision 10): the partner addresses the customer only by the consent's id, and
 * gets the granted categories only while the consent holds. With no consent (an unknown id, or
 * one to another merchant) it gets the same 404 as for an unknown customer; with a consent that
 * lapsed, was revoked or does not cover what it asks, 403 `consent_required`. Every attempt on
 * an existing consent is an access record at the merchant holding the data (role `partner`), so
 * the customer sees it in their one log.
 */
export class PartnerReads {
  constructor(
    private readonly db: Queryable,
    private readonly vault: Vault,
    private readonly clock: Clock,
    private readonly consents: Consents,
    private readonly customers: Customers,
    private readonly access: AccessLog,
  ) {}

  async read(
    p: Principal,
    consentId: string,
    q: { categories?: ConsentCategory[]; purpose?: string },
  ): Promise<SharedData> {
    const row = await this.consents.row(consentId);
    const notFound = new ApiError(404, "not_found", `consent ${consentId} not found`);
    if (!row) throw notFound;
    const granted = parsed<ConsentCategory[]>(row.categories);
    const purposes = parsed<string[]>(row.purposes);
    const purpose = q.purpose ?? purposes[0] ?? "sharing";
    const categories = q.categories ?? granted;
    const who = { merchantId: row.merchant_id, role: "partner", actor: actorOf(p) };
    const refuse = async (err: ApiError): Promise<never> => {
      await this.access.record(
        who,
        { purpose, basis: "consent" },
        [row.customer_id],
        categories,
        "partner_read_refused",
      );
      throw err;
    };
    if (row.grantee !== p.merchantId) return refuse(notFound);
    const status = statusOf(row, this.clock.now());
    if (status !== "active") return refuse(refusal(`consent ${consentId} is ${status}`));
    if ((await this.consents.triggers(row.merchant_id, [consentId])).size > 0) {
      return refuse(refusal(`consent ${consentId} was revoked by an event it names`));
    }
    if (!purposes.includes(purpose)) {
      return refuse(refusal(`consent ${consentId} does not cover the purpose ${purpose}`));
    }
    const missing = categories.filter((c) => !granted.includes(c));
    if (missing.length > 0) {
      return refuse(refusal(`consent ${consentId} does not cover ${missing.join(", ")}`));
    }
    const view = await this.customers.get(row.merchant_id, row.customer_id);
    if (view?.status !== "active") {
      return refuse(refusal("the customer's data is no longer held"));
    }
    const data: SharedData["data"] = {};
    if (categories.includes("contact")) {
      data.contact = {
        name: view.name,
        emails: view.emails,
        phones: view.phones.map((x) => x.number),
        address: view.address,
        identities: view.identities,
      };
    }
    if (categories.includes("demographics")) {
      data.demographics = {
        birthday: view.birthday,
        language: view.language,
        country: view.country,
        birthMonth: view.birthMonth,
        ageBand: view.ageBand,
      };
    }
    if (categories.includes("interactions") || categories.includes("purchase_history")) {
      const page = await timeline(this.db, this.vault, row.merchant_id, row.customer_id, {
        limit: RECENT,
      });
      const recorded = page.items.filter((i) => i.type === "interaction.recorded");
      const fact = (i: (typeof recorded)[number], k: string) =>
        String((i.payload as Record<string, unknown>)[k] ?? "");
      if (categories.includes("interactions")) {
        data.interactions = recorded.map((i) => ({
          occurredAt: fact(i, "occurredAt"),
          channel: fact(i, "channel"),
          direction: fact(i, "direction"),
          kind: fact(i, "kind"),
          summary: i.text?.summary ?? null,
          content: i.text?.content ?? null,
        }));
      }
      if (categories.includes("purchase_history")) {
        data.purchase_history = recorded
          .filter((i) => ["purchase", "return"].includes(fact(i, "kind")))
          .map((i) => ({
            occurredAt: fact(i, "occurredAt"),
            channel: fact(i, "channel"),
            kind: fact(i, "kind"),
            amount:
              ((i.payload as Record<string, unknown>).amount as {
                value: number;
                currency: string;
              }) ?? null,
          }));
      }
    }
    if (categories.includes("loyalty")) data.loyalty = null;
    // Recorded before the answer: a use that cannot be recorded is not made.
    await this.access.record(
      who,
      { purpose, basis: consentId },
      [row.customer_id],
      categories,
      "partner_read",
    );
    return { consentId, purpose, categories, data };
  }
}
