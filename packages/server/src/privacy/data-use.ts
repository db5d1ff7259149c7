import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Statement } from "../db/database.js";
import { principalOf } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import type { AccessAction, AccessLog, Category } from "./access-log.js";
import type { Purposes, Use } from "./purposes.js";

export const PURPOSE_ID = /^[a-z][a-z0-9_]{0,39}$/;

/** The request header that names a purpose (decision 11); documented on every route that reveals data. */
export const PurposeHeader = z
  .string()
  .regex(PURPOSE_ID, "must be a purpose id such as customer_service")
  .optional()
  .describe(
    "the purpose this request uses personal data for (GET /v1/purposes); without it, the role's default",
  );

/**
 * Whether customers' consents hold for a use (the consent domain gives it). Without one, no use
 * on the consent basis holds.
 */
export interface ConsentGuard {
  /**
   * For each of these customers of the merchant, the id of a consent of theirs, valid now, that
   * grants this merchant the purpose for every one of the categories; absent when none does.
   */
  covering(
    merchantId: string,
    purpose: string,
    customerIds: readonly string[],
    categories: readonly Category[],
  ): Promise<Map<string, string>>;
}

/**
 * What a route that reveals personal data calls: `use` before it reads (an unknown purpose is
 * refused before anything is read), `record` before it answers.
 */
export class DataUse {
  private guard: ConsentGuard | undefined;

  constructor(
    readonly purposes: Purposes,
    readonly access: AccessLog,
  ) {}

  /** The consent domain plugs in here, so every route's `record` checks consents on its own. */
  guardConsents(guard: ConsentGuard): void {
    this.guard = guard;
  }

  use(req: FastifyRequest): Promise<Use> {
    const named = req.headers["patron-purpose"];
    return this.purposes.use(principalOf(req), typeof named === "string" ? named : undefined);
  }

  /**
   * The record of a use as statements that commit with the request's own write (a sequencer
   * command's `writes`), so it needs no commit of its own: for a use that no consent decides.
   * Undefined on the consent basis, where the record may refuse the use: the route calls
   * `record` then, as every other route does.
   */
  statements(
    req: FastifyRequest,
    use: Use,
    customerIds: readonly string[],
    categories: readonly Category[],
    action: AccessAction,
  ): Statement[] | undefined {
    if (use.basis === "consent") return undefined;
    const out = this.access.statements(principalOf(req), use, customerIds, categories, action);
    return out.length > 0 ? out : undefined;
  }

  /**
   * Records the use, or refuses it. On the consent basis each customer needs a valid consent
   * covering the purpose and categories; the record names that consent as its basis. A refused
   * use is recorded too (action `<action>_refused`), then answered 403 `consent_required`, and
   * nothing is revealed: routes call this before they answer.
   */
  async record(
    req: FastifyRequest,
    use: Use,
    customerIds: readonly string[],
    categories: readonly Category[],
    action: AccessAction,
  ): Promise<void> {
    const p = principalOf(req);
    if (use.basis !== "consent") {
      return this.access.record(p, use, customerIds, categories, action);
    }
    const ids = [...new Set(customerIds)];
    if (ids.length === 0) return;
    const found = this.guard
      ? await this.guard.covering(p.merchantId, use.purpose, ids, categories)
      : new Map<string, string>();
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      await this.access.record(p, use, missing, categories, `${action}_refused`);
      throw new ApiError(
        403,
        "consent_required",
        `${use.purpose} rests on consent, and ${missing.length === 1 ? "a customer" : `${missing.length} customers`} of this request gave none that covers ${categories.join(", ")} now`,
      );
    }
    const byConsent = new Map<string, string[]>();
    for (const [customer, consent] of found) {
      byConsent.set(consent, [...(byConsent.get(consent) ?? []), customer]);
    }
    await Promise.all(
      [...byConsent].map(([consent, list]) =>
        this.access.record(p, { purpose: use.purpose, basis: consent }, list, categories, action),
      ),
    );
  }
}
