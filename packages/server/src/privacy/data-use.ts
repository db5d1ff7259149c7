import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { principalOf } from "../http/app.js";
import type { AccessLog, Category } from "./access-log.js";
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
 * What a route that reveals personal data calls: `use` before it reads (an unknown purpose is
 * refused before anything is read), `record` before it answers.
 */
export class DataUse {
  constructor(
    readonly purposes: Purposes,
    readonly access: AccessLog,
  ) {}

  use(req: FastifyRequest): Promise<Use> {
    const named = req.headers["patron-purpose"];
    return this.purposes.use(principalOf(req), typeof named === "string" ? named : undefined);
  }

  record(
    req: FastifyRequest,
    use: Use,
    customerIds: readonly string[],
    categories: readonly Category[],
    action: string,
  ): Promise<void> {
    return this.access.record(principalOf(req), use, customerIds, categories, action);
  }
}
