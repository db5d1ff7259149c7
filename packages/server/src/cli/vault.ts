import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { formatMasterKey, loadKeyStore } from "../vault/keystore.js";
import { Vault } from "../vault/vault.js";
import { UsageError } from "./args.js";

export const VAULT_HELP = `  vault new-key             Print a new master key for PATRON_MASTER_KEY
  vault rotate              Re-wrap every data and index key under PATRON_MASTER_KEY, reading
                            the old ones with PATRON_MASTER_KEY_PREVIOUS (a running node does
                            this by itself when started with both; this is for a stopped one)`;

/** `patron vault new-key | rotate`: the master key's life (decision 4). */
export async function vaultCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [verb] = positionals;
  if (verb === "new-key") {
    console.log(formatMasterKey(new Uint8Array(randomBytes(32))));
    return 0;
  }
  if (verb !== "rotate") {
    throw new UsageError("vault needs a subcommand: patron vault new-key | patron vault rotate");
  }
  const config = loadConfig();
  if (!process.env.PATRON_MASTER_KEY || !process.env.PATRON_MASTER_KEY_PREVIOUS) {
    throw new UsageError(
      "vault rotate needs the new key in PATRON_MASTER_KEY and the old ones in PATRON_MASTER_KEY_PREVIOUS",
    );
  }
  const pgdata = join(config.dataDir, "pgdata");
  if (!config.databaseUrl && !existsSync(pgdata)) {
    console.error(`FAILED: no database in ${config.dataDir}; set PATRON_DATA_DIR or DATABASE_URL`);
    return 1;
  }
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : pgdata,
  });
  try {
    const vault = new Vault(db, loadKeyStore(config.dataDir));
    const done = await vault.rotate((n) => {
      process.stderr.write(
        `${process.stderr.isTTY ? "\r" : ""}re-wrapped ${n} keys${process.stderr.isTTY ? "" : "\n"}`,
      );
    });
    if (process.stderr.isTTY) process.stderr.write("\n");
    console.log(
      `OK: ${done} keys re-wrapped under the new master key; PATRON_MASTER_KEY_PREVIOUS can go`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
