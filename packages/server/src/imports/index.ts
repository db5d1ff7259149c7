import { Customers } from "../customers/customers.js";
import type { Domain } from "../domain.js";
import { Importer } from "./importer.js";
import { importRoutes } from "./routes.js";

/**
 * Customer imports from CSV (streamed, staged encrypted, resumable), merge suggestions and the
 * customer export. It writes through the customers domain's own `Customers`, so identity
 * ownership is decided in one place: that domain must be listed before this one.
 */
export const importsDomain: Domain = {
  name: "imports",
  start: ({ db, sequencer, vault, clock, defaultCountry, dataUse }) => {
    const customers = Customers.of(sequencer);
    if (!customers) throw new Error("the imports domain needs the customers domain before it");
    const importer = new Importer(db, vault, customers, clock, { defaultCountry });
    // Imports the node was writing when it stopped go on by themselves.
    importer.resumeAll().catch(() => {});
    return {
      routes: (app) => {
        app.addHook("onClose", () => importer.stop());
        importRoutes(app, { importer, customers, db, dataUse, clock });
      },
    };
  },
};
