export * from "./anvil.js";
export * from "./deploy.js";
export * from "./generated/LedgerAnchor.js";
