import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attest } from "./attestations/attestations.js";
import { attestationsDomain } from "./attestations/index.js";
import { Anchorer } from "./chain/anchorer.js";
import { type ChainLink, connectChain } from "./chain/client.js";
import { anchorRoutes } from "./chain/routes.js";
import { Channels } from "./channels/index.js";
import { Bindings, bindingsProjector } from "./commands/bindings.js";
import { commandRoutes } from "./commands/routes.js";
import { SignatureChecker } from "./commands/verify.js";
import type { Config } from "./config.js";
import { consentDomain } from "./consent/index.js";
import { customersDomain } from "./customers/index.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrate } from "./db/migrations.js";
import { seedDemoCustomers } from "./demo/customers.js";
import { seedDemoLoyalty } from "./demo/loyalty.js";
import {
  type CommandHandler,
  type Domain,
  type DomainRuntime,
  type EntryTypeSpec,
  SubjectExports,
} from "./domain.js";
import { type App, createApp } from "./http/app.js";
import { registerWeb } from "./http/web.js";
import { identityDomain } from "./identity/index.js";
import { importsDomain } from "./imports/index.js";
import { EntryAuditor } from "./ledger/audit-entries.js";
import { chainsProjector } from "./ledger/chains.js";
import { type Clock, systemClock } from "./ledger/clock.js";
import { type LedgerIdentity, loadLedgerIdentity } from "./ledger/keys.js";
import { ProofService } from "./ledger/proofs.js";
import { ledgerRoutes } from "./ledger/routes.js";
import { type Projector, Sequencer } from "./ledger/sequencer.js";
import { loyaltyDomain } from "./loyalty/index.js";
import { AccessLog, DataUse, Purposes, privacyDomain, privacyRoutes } from "./privacy/index.js";
import { rightsDomain } from "./rights/index.js";
import { segmentsDomain } from "./segments/index.js";
import { staffDomain } from "./staff/index.js";
import { tenancyDomain } from "./tenancy/index.js";
import { SYSTEM_ACTOR, Tenancy } from "./tenancy/tenancy.js";
import { loadKeyStore } from "./vault/keystore.js";
import { Vault } from "./vault/vault.js";
import { VERSION } from "./version.js";

/** The advisory lock that makes one node the single writer of a ledger's database. */
const SEQUENCER_LOCK = 7244902;

/** The node's domains, in the order their routes register. Adding one is one line here. */
export const domains: Domain[] = [
  tenancyDomain,
  attestationsDomain,
  privacyDomain,
  customersDomain,
  identityDomain,
  segmentsDomain,
  staffDomain,
  importsDomain,
  consentDomain,
  rightsDomain,
  loyaltyDomain,
];

export const entryTypesOf = (ds: readonly Domain[]): EntryTypeSpec[] =>
  ds.flatMap((d) => d.entryTypes ?? []);

/** Every projection of the log, as the sequencer writes it and `audit` rebuilds it. */
export function projectorsOf(ds: readonly Domain[]): Projector[] {
  return [
    chainsProjector,
    ...ds.flatMap((d) => d.projectors ?? []),
    bindingsProjector(entryTypesOf(ds)),
  ];
}

export const projectors = projectorsOf(domains);

/** What `audit` checks in every entry, for these domains. */
export const entryAuditorOf = (ds: readonly Domain[], origin?: string) =>
  new EntryAuditor(
    entryTypesOf(ds),
    ds.flatMap((d) => (d.audit ? [d.audit()] : [])),
    origin,
  );

export interface Ledger {
  db: Database;
  identity: LedgerIdentity;
  sequencer: Sequencer;
  clock: Clock;
  domains: readonly Domain[];
}

export interface LedgerOptions {
  schema?: string;
  /** Replaces the node's domain list (tests add one of their own). */
  domains?: readonly Domain[];
  /** Replaces the projections the sequencer writes (benchmarks leave one out to measure it). */
  projectors?: Projector[];
  clock?: Clock;
}

/** Opens the database, brings the schema up to date and recovers the sequencer. */
export async function openLedger(
  config: Pick<
    Config,
    "dataDir" | "databaseUrl" | "ledgerKey" | "origin" | "batchMax" | "batchWaitMs"
  >,
  opts: LedgerOptions = {},
): Promise<Ledger> {
  const ds = opts.domains ?? domains;
  const clock = opts.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true });
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
    schema: opts.schema,
  });
  try {
    await migrate(db);
    if (!(await lockSequencer(db))) {
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
      projectors: opts.projectors ?? projectorsOf(ds),
      clock,
    });
    return { db, identity, sequencer, clock, domains: ds };
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
  /** The JSON-RPC URL browsers are told to read the anchoring contract at, if any. */
  publicRpcUrl?: string;
  anchorer?: Anchorer;
  /** Access records of every use of personal data (decision 11); `flush` commits them now. */
  accessLog: AccessLog;
  /** Set on the first start: the demo merchant's owner key. */
  ownerKey?: string;
  /** Set on the first start: the node operator's key (it creates merchants). */
  operatorKey?: string;
  url: string;
  close(): Promise<void>;
}

/**
 * Takes the database's sequencer lock. A node stopped a moment ago may still hold it: PostgreSQL
 * frees a session's advisory lock once its backend notices the closed connection, which on a
 * busy server takes a little while. So a restart waits up to two seconds before giving up; a
 * node that is really running keeps the lock and is refused all the same.
 */
async function lockSequencer(db: { tryLock(key: number): Promise<boolean> }): Promise<boolean> {
  for (let waited = 0; ; waited += 100) {
    if (await db.tryLock(SEQUENCER_LOCK)) return true;
    if (waited >= 2_000) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A whole node: ledger, HTTP API and the demo merchant on first start. */
export async function startNode(
  config: Config,
  opts: LedgerOptions & { listen?: boolean; log?: (line: string) => void } = {},
): Promise<PatronNode> {
  const log = opts.log ?? (() => {});
  const ledger = await openLedger(config, opts);
  const { db, sequencer, identity, clock } = ledger;
  const tenancy = new Tenancy(db, sequencer, clock);
  let app: App | undefined;
  let chain: ChainLink | undefined;
  let anchorer: Anchorer | undefined;
  let access: AccessLog | undefined;
  try {
    await tenancy.load();
    const bindings = new Bindings(db, sequencer);
    const ownerKey = await bootstrap(config, tenancy, sequencer, log);
    const operatorKey = await bootstrapOperator(config, tenancy, log);
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
      requestTimeoutMs: config.requestTimeoutMs,
      maxConnectionsPerClient: config.maxConnectionsPerClient,
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
    const publicRpcUrl = publicChainRpc(config, chain);
    anchorRoutes(app, { db, chain, publicRpcUrl });
    const vault = new Vault(
      db,
      loadKeyStore(config.dataDir, {
        PATRON_MASTER_KEY: config.masterKey,
        PATRON_MASTER_KEY_PREVIOUS: config.masterKeyPrevious,
      }),
    );
    access = new AccessLog(db, sequencer, clock, { intervalMs: config.accessBatchMs });
    const dataUse = new DataUse(new Purposes(db, sequencer), access);
    privacyRoutes(app, { dataUse, db });
    const channels = new Channels(db, vault, clock, {
      mailUrl: config.mailUrl,
      mailFrom: config.mailFrom,
      sms: config.sms,
    });
    const publicUrl = () => config.publicUrl ?? url;
    const signatures = new SignatureChecker({
      origin: identity.origin,
      clock,
      webauthnOrigins: () => webauthnOrigins(config, url),
      rpId: config.webauthnRpId,
    });
    const ctx = {
      signatures,
      proofs,
      exports: new SubjectExports(),
      verifierKey: identity.verifierKey,
      db,
      sequencer,
      tenancy,
      clock,
      origin: identity.origin,
      bindings,
      vault,
      defaultCountry: config.defaultCountry,
      dataUse,
      channels,
      publicUrl,
      // The identity domain's settings (identity/index.ts).
      identity: {
        portalUrl: () => config.portalOrigin ?? publicUrl(),
        recoveryHours: config.recoveryHours,
        sweepMs: config.recoverySweepMs,
        log,
      },
      // The rights domain's settings (rights/index.ts).
      rights: { sweepMs: config.retentionSweepMs, log },
      // The loyalty domain's settings (loyalty/index.ts): its expiry and tier sweep.
      loyalty: { sweepMs: config.loyaltySweepMs, log },
      // The staff domain's settings (staff/index.ts): mail, SMS and the demo owner's sign-in.
      staff: {
        channels,
        publicUrl,
        bootstrap: { dataDir: config.dataDir, ownerEmail: config.ownerEmail },
        log,
      },
    };
    const handlers = new Map<string, CommandHandler>();
    const runtimes: DomainRuntime[] = [];
    for (const d of ledger.domains) {
      const runtime = await d.start?.(ctx);
      if (runtime) runtimes.push(runtime);
      runtime?.routes?.(app);
      for (const h of runtime?.commands ?? []) {
        if (handlers.has(h.type)) throw new Error(`two domains handle command type ${h.type}`);
        handlers.set(h.type, h);
      }
    }
    let url = "";
    commandRoutes(app, {
      db,
      sequencer,
      tenancy,
      bindings,
      origin: identity.origin,
      handlers,
      entryTypes: new Map(entryTypesOf(ledger.domains).map((t) => [t.type, t])),
      signatures,
    });
    await registerWeb(app, {
      root: config.webRoot,
      connect: publicRpcUrl ? [publicRpcUrl] : [],
    });
    await app.ready();
    if (ownerKey && config.demoData && config.demoCustomers > 0) {
      // The first start only: a console with customers to show.
      const seeded = await seedDemoCustomers(app, ownerKey, clock.now(), config.demoCustomers);
      log(`Added ${seeded.customers} demo customers and ${seeded.interactions} interactions.`);
      // Their loyalty programme, rules and a year of orders (demo/loyalty.ts).
      const loyalty = await seedDemoLoyalty(app, ownerKey, clock.now(), seeded.ids);
      log(
        `Added a loyalty programme with ${loyalty.rules} rules, ${loyalty.rewards} rewards and ${loyalty.orders} demo orders (${loyalty.points} points).`,
      );
    }
    if (opts.listen !== false) {
      url = await app.listen({ port: config.port, host: config.host });
    }
    anchorer?.start();
    access.start();
    for (const r of runtimes) r.start?.();
    if (config.masterKeyPrevious) {
      // Started with a new master key and the old ones: re-wrap every key while serving.
      vault
        .rotate()
        .then((n) => n > 0 && log(`Vault: ${n} keys re-wrapped under the new master key.`))
        .catch((err) => log(`Vault: rotation stopped (${err}); it resumes on the next start.`));
    }
    const a = app;
    const accessLog = access;
    return {
      ...ledger,
      app: a,
      tenancy,
      chain,
      publicRpcUrl,
      anchorer,
      ownerKey,
      operatorKey,
      url,
      accessLog,
      async close() {
        await a.close();
        for (const r of runtimes) await r.stop?.();
        // What was revealed before the close is committed before the ledger closes.
        await accessLog.stop();
        await anchorer?.stop();
        await sequencer.close();
        await chain?.stop();
        await db.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await access?.stop().catch(() => {});
    await anchorer?.stop().catch(() => {});
    await chain?.stop().catch(() => {});
    await sequencer.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/**
 * The JSON-RPC URL browsers may read the anchoring contract at: the configured one, else the
 * embedded anvil's (it answers CORS); never PATRON_CHAIN_RPC_URL by itself, which may carry a
 * provider's key.
 */
function publicChainRpc(config: Config, chain: ChainLink | undefined): string | undefined {
  const configured = config.chain.publicRpcUrl;
  if (configured === null) return undefined;
  if (configured !== undefined) return configured;
  return config.chain.mode === "embedded" ? chain?.rpcUrl : undefined;
}

/** The origins a passkey assertion may come from: the portal's, and the node's own address. */
function webauthnOrigins(config: Config, url: string): string[] {
  const out = new Set(config.webauthnOrigins);
  if (url) {
    const u = new URL(url);
    out.add(u.origin);
    // Browsers allow passkeys on localhost but not on an IP address.
    if (u.hostname === "127.0.0.1") out.add(`${u.protocol}//localhost:${u.port}`);
  }
  return [...out];
}

/**
 * On the first start, creates the node operator's key (PATRON_OPERATOR_KEY when set) and saves
 * it beside the owner key. Only its hash is kept in the database.
 */
async function bootstrapOperator(config: Config, tenancy: Tenancy, log: (l: string) => void) {
  const keyFile = join(config.dataDir, "operator-key.txt");
  if (tenancy.hasOperatorKey) {
    if (config.operatorKey) {
      log("PATRON_OPERATOR_KEY is ignored: the node's operator key was set on its first start");
    }
    if (existsSync(keyFile)) log(`Operator key: in ${keyFile}`);
    return undefined;
  }
  const key = await tenancy.setOperatorKey(config.operatorKey);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  log(`Operator key (creates merchants; saved in ${keyFile}): ${key}`);
  return key;
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
  let key: string;
  if (merchantId === undefined) {
    // The merchant and its owner key in one command: both or neither.
    const m = await tenancy.createMerchantWithOwner(
      config.demoMerchant,
      SYSTEM_ACTOR,
      config.ownerKey,
    );
    merchantId = m.id;
    key = m.ownerKey;
    if (config.demoData) await seedDemoDocuments(sequencer, merchantId, m.keyId);
  } else {
    // Left by a first start of an earlier version, which wrote the two one after the other.
    key = (
      await tenancy.createKey(
        merchantId,
        "owner",
        "initial owner key",
        SYSTEM_ACTOR,
        config.ownerKey,
      )
    ).key;
  }
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
