export * from "./canonical.js";
export * from "./checkpoint.js";
export * from "./encoding.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./merkle.js";
export * from "./note.js";
export * from "./receipt.js";
