export * from "./canonical.js";
export * from "./checkpoint.js";
// Explicit: command.ts also holds the path-prefixed readers that entry decoding uses internally.
export {
  type Command,
  commandChallenge,
  commandExpiry,
  commandSigningBytes,
  parseCommand,
  parseSignedCommand,
  type SignedCommand,
  signCommand,
  type VerifyCommandOptions,
  verifyCommand,
} from "./command.js";
export * from "./commitment.js";
export * from "./did-key.js";
export * from "./encoding.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./history.js";
export * from "./merkle.js";
export * from "./note.js";
export * from "./receipt.js";
export * from "./webauthn.js";
