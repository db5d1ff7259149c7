import type { Domain } from "../domain.js";
import { merchantOf } from "../domain.js";
import { ACCESS_RECORDED } from "./access-log.js";
import { PURPOSE_DECLARED, purposesProjector } from "./purposes.js";

/**
 * Privacy: the purposes a merchant uses personal data for, with their lawful bases, and the
 * access records of every use (decision 11). Its runtime (the purposes and the access log) is
 * built by node.ts, since every domain that reveals personal data records through it; its
 * routes are registered there too.
 */
export const privacyDomain: Domain = {
  name: "privacy",
  entryTypes: [PURPOSE_DECLARED, ACCESS_RECORDED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: merchantOf,
  })),
  projectors: [purposesProjector],
};

export { AccessLog, CATEGORIES, type Category, PROFILE } from "./access-log.js";
export { DataUse, PurposeHeader } from "./data-use.js";
export { Purposes } from "./purposes.js";
export { privacyRoutes } from "./routes.js";
