import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../config.js";
import { loadConfig } from "../config.js";

/**
 * The database backends storage tests run against: embedded PGlite always, and the PostgreSQL
 * server in PATRON_TEST_DATABASE_URL when given (CI starts one; scripts/with-postgres.sh does
 * locally). Each test gets its own schema on the server and its own data directory.
 */
export interface Backend {
  name: "pglite" | "postgres";
  /** A fresh node configuration: empty database, empty data directory. */
  config(overrides?: Partial<Config>): { config: Config; schema?: string; cleanup(): void };
}

const pgUrl = process.env.PATRON_TEST_DATABASE_URL;
if (!pgUrl && process.env.PATRON_REQUIRE_POSTGRES === "1") {
  throw new Error("PATRON_REQUIRE_POSTGRES is set but PATRON_TEST_DATABASE_URL is not");
}

let counter = 0;
const fresh = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

function tempDir() {
  return mkdtempSync(join(tmpdir(), "patron-test-"));
}

export const pglite: Backend = {
  name: "pglite",
  config(overrides = {}) {
    const dataDir = tempDir();
    const config = {
      ...loadConfig({
        PATRON_CHAIN: "off",
        PATRON_DEMO_DATA: "0",
        // No background commits of access records: a test that counts entries flushes them itself.
        PATRON_ACCESS_BATCH_MS: "0",
      }),
      dataDir,
      port: 0,
      ...overrides,
    };
    return { config, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
  },
};

export const postgres: Backend | undefined = pgUrl
  ? {
      name: "postgres",
      config(overrides = {}) {
        const dataDir = tempDir();
        const schema = fresh("t");
        const config = {
          ...loadConfig({
            PATRON_CHAIN: "off",
            PATRON_DEMO_DATA: "0",
            // No background commits of access records: a test that counts entries flushes them itself.
            PATRON_ACCESS_BATCH_MS: "0",
          }),
          dataDir,
          databaseUrl: pgUrl,
          port: 0,
          ...overrides,
        };
        return { config, schema, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
      },
    }
  : undefined;

export const backends: Backend[] = postgres ? [pglite, postgres] : [pglite];

if (!postgres) {
  console.warn(
    "PATRON_TEST_DATABASE_URL is not set: storage tests run on PGlite only (scripts/with-postgres.sh npm test runs both)",
  );
}

export const testDatabaseUrl = pgUrl;
