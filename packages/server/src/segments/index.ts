import { Customers } from "../customers/customers.js";
import type { Domain } from "../domain.js";
import { merchantOf } from "../domain.js";
import { segmentRoutes } from "./routes.js";
import {
  SEGMENT_CHANGED,
  SEGMENT_DEFINED,
  SEGMENT_DELETED,
  Segments,
  segmentsProjector,
} from "./segments.js";

/**
 * Segments: named JsonLogic conditions over customers' facts in clear (decision 4), with a
 * live count, member pages and exports. A definition is the merchant's business: sealed, on the
 * merchant's chain only (decision 6). Listed after the customers domain, whose records it reads.
 */
export const segmentsDomain: Domain = {
  name: "segments",
  entryTypes: [SEGMENT_DEFINED, SEGMENT_CHANGED, SEGMENT_DELETED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: merchantOf,
  })),
  projectors: [segmentsProjector],
  start: async ({ db, sequencer, dataUse }) => {
    const customers = Customers.of(sequencer);
    if (!customers) throw new Error("the segments domain needs the customers domain before it");
    const segments = new Segments(db, sequencer);
    await segments.load();
    return { routes: (app) => segmentRoutes(app, { segments, customers, dataUse }) };
  },
};
