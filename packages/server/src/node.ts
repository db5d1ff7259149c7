import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attestationProjector } from "./attestations/attestations.js";
import { attestationRoutes } from "./attestations/routes.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrate } from "./db/migrations.js";
import { type App, createApp } from "./http/app.js";
import { type LedgerIdentity, loadLedgerIdentity } from "./ledger/keys.js";
import { ProofService } from "./ledger/proofs.js";
import { ledgerRoutes } from "./ledger/routes.js";
import { Sequencer } from "./ledger/sequencer.js";
import { tenancyRoutes } from "./tenancy/routes.js";
import { SYSTEM_ACTOR, Tenancy, tenancyProjector } from "./tenancy/tenancy.js";
import { VERSION } from "./version.js";

/** The advisory lock that makes one node the single writer of a ledger's database. */
const SEQUENCER_LOCK = 7244902;

export const projectors = [tenancyProjector, attestationProjector];

export interface Ledger {
  db: Database;
  identity: LedgerIdentity;
  sequencer: Sequencer;
}

/** Opens the database, brings the schema up to date and recovers the sequencer. */
export async function openLedger(
  config: Pick<
    Config,
    "dataDir" | "databaseUrl" | "ledgerKey" | "origin" | "batchMax" | "batchWaitMs"
  >,
  opts: { schema?: string } = {},
): Promise<Ledger> {
  mkdirSync(config.dataDir, { recursive: true });
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
    schema: opts.schema,
  });
  try {
    await migrate(db);
    if (!(await db.tryLock(SEQUENCER_LOCK))) {
      throw new Error(
        "another node is already the sequencer of this ledger (it holds the database's sequencer lock)",
      );
    }
    const identity = await loadLedgerIdentity(db, {
      dataDir: config.dataDir,
      signerKey: config.ledgerKey,
      origin: config.origin,
    });
    const sequencer = await Sequencer.open(db, {
      origin: identity.origin,
      signerKey: identity.signerKey,
      maxBatch: config.batchMax,
      maxWaitMs: config.batchWaitMs,
      projectors,
    });
    return { db, identity, sequencer };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

export interface PatronNode extends Ledger {
  app: App;
  tenancy: Tenancy;
  /** Set on the first start: the demo merchant's owner key. */
  ownerKey?: string;
  url: string;
  close(): Promise<void>;
}

/** A whole node: ledger, HTTP API and the demo merchant on first start. */
export async function startNode(
  config: Config,
  opts: { schema?: string; listen?: boolean; log?: (line: string) => void } = {},
): Promise<PatronNode> {
  const log = opts.log ?? (() => {});
  const ledger = await openLedger(config, opts);
  const { db, sequencer, identity } = ledger;
  const tenancy = new Tenancy(db, sequencer);
  let app: App | undefined;
  try {
    const ownerKey = await bootstrap(config, tenancy, log);
    app = await createApp({
      logger: config.logRequests,
      bodyLimit: config.bodyLimit,
      authenticate: (t) => tenancy.authenticate(t),
      version: VERSION,
    });
    const proofs = new ProofService(db, () => sequencer.edgeTiles);
    app.get(
      "/health",
      { schema: { tags: ["node"], summary: "Liveness and the ledger's size" } },
      async () => ({
        status: "ok",
        version: VERSION,
        database: db.kind,
        origin: identity.origin,
        size: Number(sequencer.head.size),
      }),
    );
    ledgerRoutes(app, {
      db,
      sequencer,
      proofs,
      verifierKey: identity.verifierKey,
      origin: identity.origin,
    });
    tenancyRoutes(app, tenancy);
    attestationRoutes(app, { db, sequencer });
    await app.ready();
    let url = "";
    if (opts.listen !== false) {
      url = await app.listen({ port: config.port, host: config.host });
    }
    const a = app;
    return {
      ...ledger,
      app: a,
      tenancy,
      ownerKey,
      url,
      async close() {
        await a.close();
        await sequencer.close();
        await db.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await sequencer.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** On the first start, creates the demo merchant and its owner key and saves the key. */
async function bootstrap(config: Config, tenancy: Tenancy, log: (l: string) => void) {
  const keyFile = join(config.dataDir, "owner-key.txt");
  if ((await tenancy.merchantCount()) > 0) {
    if (existsSync(keyFile))
      log(`Owner key of the demo merchant: ${readFileSync(keyFile, "utf8").trim()}`);
    return undefined;
  }
  const merchantId = await tenancy.createMerchant(config.demoMerchant);
  const { key } = await tenancy.createKey(
    merchantId,
    "owner",
    "initial owner key",
    SYSTEM_ACTOR,
    config.ownerKey,
  );
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  log(`Created merchant "${config.demoMerchant}" (${merchantId}).`);
  log(`Owner API key (saved in ${keyFile}): ${key}`);
  return key;
}
