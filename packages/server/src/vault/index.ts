export {
  blindIndex,
  NAME_INDEX_BITS,
  nameMatches,
  nameTokens,
  normaliseEmail,
} from "./blind-index.js";
export {
  formatMasterKey,
  type KeyStore,
  LocalKeyStore,
  loadKeyStore,
  masterKeyId,
  parseMasterKey,
  VaultError,
} from "./keystore.js";
export { Vault, type VaultValue } from "./vault.js";
