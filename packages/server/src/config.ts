import { resolve } from "node:path";
import { isCountryCode } from "./customers/countries.js";

/** Everything a node can be told, from the environment; defaults run embedded. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  ownerKey?: string;
  /** The node operator's key on the first start (PATRON_OPERATOR_KEY); random otherwise. */
  operatorKey?: string;
  /** Extra origins passkey assertions may come from (PATRON_WEBAUTHN_ORIGINS, comma-separated). */
  webauthnOrigins: string[];
  /** The passkeys' relying party id (PATRON_WEBAUTHN_RP_ID), e.g. patron.example for portals on its subdomains. */
  webauthnRpId?: string;
  ledgerKey?: string;
  origin?: string;
  batchMax: number;
  batchWaitMs: number;
  bodyLimit: number;
  /** How long a client has to send a whole request, headers and body (PATRON_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Connections one client address may hold open at once; 0: no bound (PATRON_MAX_CONNECTIONS_PER_CLIENT). */
  maxConnectionsPerClient: number;
  demoMerchant: string;
  /** Demo data on the first start: documents, customers, loyalty (PATRON_DEMO_DATA=0 turns it off). */
  demoData: boolean;
  /** How many demo customers the first start adds with the demo data (PATRON_DEMO_CUSTOMERS). */
  demoCustomers: number;
  logRequests: boolean;
  /** The built explorer to serve at `/` (default: packages/web/dist beside this package). */
  webRoot?: string;
  chain: ChainConfig;
  /** The vault's master key (PATRON_MASTER_KEY); otherwise `master.key` in the data directory. */
  masterKey?: string;
  /** Earlier master keys during a rotation (PATRON_MASTER_KEY_PREVIOUS, comma-separated). */
  masterKeyPrevious?: string;
  /** The country of phone numbers written without +, ISO 3166-1 alpha-2 (PATRON_DEFAULT_COUNTRY). */
  defaultCountry?: string;
  /** How often each merchant's new access records are committed as one entry, in ms; 0: only on demand (PATRON_ACCESS_BATCH_MS). */
  accessBatchMs: number;
  /** Outgoing mail by SMTP (PATRON_MAIL_URL, smtp:// or smtps://); otherwise the local outbox. */
  mailUrl?: string;
  /** The sender of outgoing mail (PATRON_MAIL_FROM). */
  mailFrom: string;
  /** SMS through a Twilio-compatible gateway (PATRON_SMS_URL and friends); otherwise the outbox. */
  sms?: SmsConfig;
  /** The node's public address, for links in emails (PATRON_PUBLIC_URL); default: where it listens. */
  publicUrl?: string;
  /** The demo owner's console sign-in, made on the first start (PATRON_OWNER_EMAIL). */
  ownerEmail: string;
  /** Where the customer portal is served (PATRON_PORTAL_ORIGIN); default: the public address. */
  portalOrigin?: string;
  /** A key recovery's time-lock, in hours (PATRON_RECOVERY_HOURS). */
  recoveryHours: number;
  /** How often recoveries whose time-lock ended are completed, in ms (PATRON_RECOVERY_SWEEP_MS). */
  recoverySweepMs: number;
  /** How often ended retention holds are shredded, in ms (PATRON_RETENTION_SWEEP_MS). */
  retentionSweepMs: number;
  /**
   * How often the loyalty sweep writes lapsed holds' releases, expired points and tier
   * downgrades, in ms (PATRON_LOYALTY_SWEEP_MS).
   */
  loyaltySweepMs: number;
}

/** A Twilio-compatible Messages API: `To`, `From`, `Body` POSTed with basic authentication. */
export interface SmsConfig {
  /** PATRON_SMS_URL: the API's base (https://api.twilio.com) or its full …/Messages.json URL. */
  url: string;
  /** PATRON_SMS_ACCOUNT: the account id (basic auth user). */
  account: string;
  /** PATRON_SMS_TOKEN: the auth token (basic auth password). */
  token: string;
  /** PATRON_SMS_FROM: the sender number or id. */
  from: string;
}

/**
 * Where checkpoints are anchored. `embedded` starts a local anvil node in the data directory;
 * `rpc` uses any EVM JSON-RPC endpoint; `off` disables anchoring (tests, air-gapped demos).
 */
export interface ChainConfig {
  mode: "embedded" | "rpc" | "off";
  rpcUrl?: string;
  /** The anchoring key (hex private key); the embedded node uses anvil's public dev key. */
  key?: string;
  contract?: string;
  /**
   * The JSON-RPC URL browsers may call to read the LedgerAnchor contract themselves
   * (PATRON_CHAIN_PUBLIC_RPC_URL), published in GET /v1/ledger/anchors and allowed by the pages'
   * Content-Security-Policy. Unset: the embedded anvil's URL in `embedded` mode, none in `rpc`
   * mode (PATRON_CHAIN_RPC_URL may carry a provider's key, so it is never published by itself).
   * `null` (the value `none`): publish none.
   */
  publicRpcUrl?: string | null;
  intervalMs: number;
  confirmations: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

// Checked here, before anything is written: a bad key found during the first start would leave
// a merchant behind with no way in.
function apiKey(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^[\x21-\x7e]{32,200}$/.test(raw)) {
    throw new ConfigError(`${name} must be 32 to 200 printable ASCII characters without spaces`);
  }
  return raw;
}

function origins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new ConfigError(`PATRON_WEBAUTHN_ORIGINS: "${s}" is not a URL`);
      }
      if (u.origin !== s.replace(/\/$/, "")) {
        throw new ConfigError(
          `PATRON_WEBAUTHN_ORIGINS: "${s}" must be an origin such as https://portal.example`,
        );
      }
      return u.origin;
    });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env.PATRON_OPERATOR_KEY && env.PATRON_OPERATOR_KEY === env.PATRON_OWNER_KEY) {
    throw new ConfigError("PATRON_OPERATOR_KEY must differ from PATRON_OWNER_KEY");
  }
  return {
    port: int(env, "PORT", 8080, 0, 65535),
    host: env.HOST || "127.0.0.1",
    dataDir: resolve(env.PATRON_DATA_DIR || ".patron"),
    databaseUrl: env.DATABASE_URL || undefined,
    ownerKey: apiKey("PATRON_OWNER_KEY", env.PATRON_OWNER_KEY),
    operatorKey: apiKey("PATRON_OPERATOR_KEY", env.PATRON_OPERATOR_KEY),
    webauthnOrigins: origins(env.PATRON_WEBAUTHN_ORIGINS),
    webauthnRpId: env.PATRON_WEBAUTHN_RP_ID || undefined,
    ledgerKey: env.PATRON_LEDGER_KEY || undefined,
    origin: env.PATRON_LOG_ORIGIN || undefined,
    batchMax: int(env, "PATRON_BATCH_MAX", 1000, 1, 100_000),
    batchWaitMs: int(env, "PATRON_BATCH_WAIT_MS", 0, 0, 10_000),
    bodyLimit: int(env, "PATRON_BODY_LIMIT", 64 * 1024, 1024, 16 * 1024 * 1024),
    requestTimeoutMs: int(env, "PATRON_REQUEST_TIMEOUT_MS", 10_000, 100, 3_600_000),
    maxConnectionsPerClient: int(env, "PATRON_MAX_CONNECTIONS_PER_CLIENT", 128, 0, 1_000_000),
    demoMerchant: env.PATRON_DEMO_MERCHANT || "Demo Merchant",
    demoData: env.PATRON_DEMO_DATA !== "0",
    demoCustomers: int(env, "PATRON_DEMO_CUSTOMERS", 500, 0, 100_000),
    logRequests: env.PATRON_LOG_REQUESTS === "1",
    webRoot: env.PATRON_WEB_ROOT ? resolve(env.PATRON_WEB_ROOT) : undefined,
    chain: chainConfig(env),
    masterKey: env.PATRON_MASTER_KEY || undefined,
    masterKeyPrevious: env.PATRON_MASTER_KEY_PREVIOUS || undefined,
    defaultCountry: country(env.PATRON_DEFAULT_COUNTRY),
    accessBatchMs: int(env, "PATRON_ACCESS_BATCH_MS", 5_000, 0, 3_600_000),
    mailUrl: mailUrl(env.PATRON_MAIL_URL),
    mailFrom: env.PATRON_MAIL_FROM || "Patron <patron@localhost>",
    sms: smsConfig(env),
    publicUrl: httpUrl("PATRON_PUBLIC_URL", env.PATRON_PUBLIC_URL)?.replace(/\/+$/, ""),
    ownerEmail: ownerEmail(env.PATRON_OWNER_EMAIL),
    portalOrigin: httpUrl("PATRON_PORTAL_ORIGIN", env.PATRON_PORTAL_ORIGIN)?.replace(/\/+$/, ""),
    recoveryHours: int(env, "PATRON_RECOVERY_HOURS", 72, 1, 720),
    recoverySweepMs: int(env, "PATRON_RECOVERY_SWEEP_MS", 60_000, 10, 3_600_000),
    retentionSweepMs: int(env, "PATRON_RETENTION_SWEEP_MS", 3_600_000, 10, 86_400_000),
    loyaltySweepMs: int(env, "PATRON_LOYALTY_SWEEP_MS", 60_000, 10, 86_400_000),
  };
}

function httpUrl(name: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${value}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new ConfigError(`${name} must be an http:// or https:// URL`);
  }
  return value;
}

// The URL may hold the SMTP password: errors name the setting, never repeat the value.
function mailUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== "smtp:" && u.protocol !== "smtps:") || !u.hostname) {
    throw new ConfigError(
      "PATRON_MAIL_URL must be an SMTP URL such as smtp://user:pass@host:587 (or smtps://)",
    );
  }
  return value;
}

function smsConfig(env: NodeJS.ProcessEnv): SmsConfig | undefined {
  const url = httpUrl("PATRON_SMS_URL", env.PATRON_SMS_URL);
  if (!url) return undefined;
  const account = env.PATRON_SMS_ACCOUNT;
  const token = env.PATRON_SMS_TOKEN;
  const from = env.PATRON_SMS_FROM;
  if (!account || !token || !from) {
    throw new ConfigError(
      "PATRON_SMS_URL needs PATRON_SMS_ACCOUNT, PATRON_SMS_TOKEN and PATRON_SMS_FROM",
    );
  }
  return { url, account, token, from };
}

function ownerEmail(value: string | undefined): string {
  if (!value) return "owner@demo.patron.local";
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new ConfigError(`PATRON_OWNER_EMAIL must be an email address, got "${value}"`);
  }
  return email;
}

function country(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!/^[A-Z]{2}$/.test(value)) {
    throw new ConfigError(
      `PATRON_DEFAULT_COUNTRY must be an ISO 3166-1 alpha-2 code such as FR, got "${value}"`,
    );
  }
  // Two capitals are not yet a country: with ZZ every number written without + would be
  // refused, row after row, long after the start that could have said so.
  if (!isCountryCode(value)) {
    throw new ConfigError(
      `PATRON_DEFAULT_COUNTRY must be an ISO 3166-1 alpha-2 code such as FR; "${value}" names no country`,
    );
  }
  return value;
}

function chainConfig(env: NodeJS.ProcessEnv): ChainConfig {
  const rpcUrl = env.PATRON_CHAIN_RPC_URL || undefined;
  const requested = env.PATRON_CHAIN || (rpcUrl ? "rpc" : "embedded");
  if (requested !== "embedded" && requested !== "rpc" && requested !== "off") {
    throw new ConfigError(`PATRON_CHAIN must be embedded, rpc or off, got "${requested}"`);
  }
  const key = env.PATRON_CHAIN_KEY || undefined;
  if (requested === "rpc" && (!rpcUrl || !key)) {
    throw new ConfigError(
      "anchoring on an RPC endpoint needs PATRON_CHAIN_RPC_URL and PATRON_CHAIN_KEY",
    );
  }
  if (key && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError("PATRON_CHAIN_KEY must be a 32-byte hex private key (0x…)");
  }
  const contract = env.PATRON_ANCHOR_CONTRACT || undefined;
  if (contract && !/^0x[0-9a-fA-F]{40}$/.test(contract)) {
    throw new ConfigError("PATRON_ANCHOR_CONTRACT must be a 20-byte hex address (0x…)");
  }
  return {
    mode: requested,
    rpcUrl,
    key,
    contract,
    publicRpcUrl: publicRpcUrl(env.PATRON_CHAIN_PUBLIC_RPC_URL),
    intervalMs: int(env, "PATRON_ANCHOR_INTERVAL_MS", 5_000, 100, 86_400_000),
    confirmations: int(env, "PATRON_ANCHOR_CONFIRMATIONS", 1, 1, 1_000),
  };
}

// Browsers call it from the portal and the explorer: an http(s) URL without credentials (a
// browser refuses a URL that holds them), or `none`.
function publicRpcUrl(value: string | undefined): string | null | undefined {
  if (!value) return undefined;
  if (value === "none") return null;
  const url = httpUrl("PATRON_CHAIN_PUBLIC_RPC_URL", value) as string;
  const u = new URL(url);
  if (u.username || u.password) {
    throw new ConfigError(
      "PATRON_CHAIN_PUBLIC_RPC_URL must not hold a user name or password: browsers call it",
    );
  }
  return url;
}
