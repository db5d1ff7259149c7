import type { Domain } from "../domain.js";
import { merchantOf } from "../domain.js";
import { tenancyAuditor } from "./audit.js";
import { tenancyRoutes } from "./routes.js";
import { tenancyProjector } from "./tenancy.js";

/**
 * Merchants and their API keys. A merchant's registration is public; its keys are its own
 * business, so their entries are sealed (decision 6). Every entry starts or extends the
 * merchant's chain.
 */
export const tenancyDomain: Domain = {
  name: "tenancy",
  entryTypes: [
    { type: "merchant.created", sealing: "public", parties: merchantOf },
    { type: "apikey.created", sealing: "sealed", parties: merchantOf },
    { type: "apikey.revoked", sealing: "sealed", parties: merchantOf },
  ],
  projectors: [tenancyProjector],
  audit: tenancyAuditor,
  start: ({ tenancy, sequencer }) => ({
    routes: (app) => tenancyRoutes(app, tenancy, sequencer),
  }),
};
