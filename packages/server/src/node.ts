import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attest, attestationProjector } from "./attestations/attestations.js";
import { attestationRoutes } from "./attestations/routes.js";
import { Anchorer } from "./chain/anchorer.js";
import { type ChainLink, connectChain } from "./chain/client.js";
import { anchorRoutes } from "./chain/routes.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrate } from "./db/migrations.js";
import { type App, createApp } from "./http/app.js";
import { registerWeb } from "./http/web.js";
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
  /** The chain checkpoints are anchored on, unless anchoring is off. */
  chain?: ChainLink;
  anchorer?: Anchorer;
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
  let chain: ChainLink | undefined;
  let anchorer: Anchorer | undefined;
  try {
    const ownerKey = await bootstrap(config, tenancy, sequencer, log);
    if (config.chain.mode !== "off") {
      chain = await connectChain(config.chain, db, {
        dataDir: config.dataDir,
        origin: identity.origin,
        log,
      });
      anchorer = new Anchorer(db, chain, () => sequencer.head, {
        intervalMs: config.chain.intervalMs,
        confirmations: config.chain.confirmations,
        log,
      });
    }
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
      anchoring: chain !== undefined,
    });
    anchorRoutes(app, { db, chain });
    tenancyRoutes(app, tenancy);
    attestationRoutes(app, { db, sequencer });
    await registerWeb(app, { root: config.webRoot });
    await app.ready();
    let url = "";
    if (opts.listen !== false) {
      url = await app.listen({ port: config.port, host: config.host });
    }
    anchorer?.start();
    const a = app;
    return {
      ...ledger,
      app: a,
      tenancy,
      chain,
      anchorer,
      ownerKey,
      url,
      async close() {
        await a.close();
        await anchorer?.stop();
        await sequencer.close();
        await chain?.stop();
        await db.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await anchorer?.stop().catch(() => {});
    await chain?.stop().catch(() => {});
    await sequencer.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/**
 * On the first start, creates the demo merchant and its owner key and saves the key. A start
 * that stopped between the two (the merchant is committed, its key is not) is finished here.
 */
async function bootstrap(
  config: Config,
  tenancy: Tenancy,
  sequencer: Sequencer,
  log: (l: string) => void,
) {
  const keyFile = join(config.dataDir, "owner-key.txt");
  let merchantId = await tenancy.firstMerchantWithoutKeys();
  if ((await tenancy.merchantCount()) > 0 && !merchantId) {
    // The key itself is printed once, on the first start; logs of later starts stay clean.
    if (existsSync(keyFile)) log(`Owner key of the demo merchant: in ${keyFile}`);
    return undefined;
  }
  const fresh = merchantId === undefined;
  merchantId ??= await tenancy.createMerchant(config.demoMerchant);
  const { key, id: ownerKeyId } = await tenancy.createKey(
    merchantId,
    "owner",
    "initial owner key",
    SYSTEM_ACTOR,
    config.ownerKey,
  );
  if (fresh && config.demoData) await seedDemoDocuments(sequencer, merchantId, ownerKeyId);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  log(
    fresh
      ? `Created merchant "${config.demoMerchant}" (${merchantId}).`
      : `Merchant ${merchantId} had no key (an earlier first start stopped half-way); created its owner key.`,
  );
  log(`Owner API key (saved in ${keyFile}): ${key}`);
  return key;
}

/**
 * The demo merchant's first notarised documents, so a new explorer has something to show. Only
 * digests and labels, as for any attestation; the texts are the demo's own.
 */
async function seedDemoDocuments(sequencer: Sequencer, merchantId: string, keyId: string) {
  const docs = [
    ["Terms of sale, edition 2026", "Demo: the general terms customers accept at checkout."],
    ["Privacy notice v3", "Demo: what personal data is processed, why, and for how long."],
    ["Loyalty programme rules v1", "Demo: earning 1 point per euro, redemption from 100 points."],
  ];
  const by = { merchantId, keyId, role: "owner" as const };
  for (const [subject, note] of docs) {
    const digest = createHash("sha256").update(`${subject}\n${note}`).digest("hex");
    await attest(sequencer, by, { digest, subject, note });
  }
}
