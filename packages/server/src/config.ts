import { resolve } from "node:path";

/** Everything a node can be told, from the environment; defaults run embedded. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  ownerKey?: string;
  ledgerKey?: string;
  origin?: string;
  batchMax: number;
  batchWaitMs: number;
  bodyLimit: number;
  demoMerchant: string;
  logRequests: boolean;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: int(env, "PORT", 8080, 0, 65535),
    host: env.HOST || "127.0.0.1",
    dataDir: resolve(env.PATRON_DATA_DIR || ".patron"),
    databaseUrl: env.DATABASE_URL || undefined,
    ownerKey: env.PATRON_OWNER_KEY || undefined,
    ledgerKey: env.PATRON_LEDGER_KEY || undefined,
    origin: env.PATRON_LOG_ORIGIN || undefined,
    batchMax: int(env, "PATRON_BATCH_MAX", 1000, 1, 100_000),
    batchWaitMs: int(env, "PATRON_BATCH_WAIT_MS", 2, 0, 10_000),
    bodyLimit: int(env, "PATRON_BODY_LIMIT", 64 * 1024, 1024, 16 * 1024 * 1024),
    demoMerchant: env.PATRON_DEMO_MERCHANT || "Demo Merchant",
    logRequests: env.PATRON_LOG_REQUESTS === "1",
  };
}
