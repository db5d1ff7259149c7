export { type Config, loadConfig } from "./config.js";
export { type Database, openDatabase } from "./db/database.js";
export { migrate } from "./db/migrations.js";
export { auditLedger } from "./ledger/audit.js";
export { Sequencer } from "./ledger/sequencer.js";
export { openLedger, type PatronNode, startNode } from "./node.js";
