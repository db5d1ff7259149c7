import type { Domain } from "../domain.js";
import { merchantOf } from "../domain.js";
import { ATTESTATION, attestationProjector } from "./attestations.js";
import { attestationRoutes } from "./routes.js";

/** Notarised document digests: public unless the merchant asks for a sealed one. */
export const attestationsDomain: Domain = {
  name: "attestations",
  entryTypes: [{ type: ATTESTATION, sealing: "optional", parties: merchantOf }],
  projectors: [attestationProjector],
  start: ({ db, sequencer }) => ({
    routes: (app) => attestationRoutes(app, { db, sequencer }),
  }),
};
