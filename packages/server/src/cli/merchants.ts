import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { UsageError } from "./args.js";

export const MERCHANTS_HELP = `  merchants create <name>   Create a merchant on a running node; prints its id and owner key
      --node <url>          the node (default: http://HOST:PORT from the environment)
      --key <key|file>      the operator key (default: PATRON_OPERATOR_KEY, or
                            operator-key.txt in PATRON_DATA_DIR)`;

/** An operator key given inline, in a file, in the environment or in the data directory. */
function operatorKey(flag: string | undefined): string {
  if (flag) {
    if (existsSync(flag)) return readFileSync(flag, "utf8").trim();
    return flag;
  }
  if (process.env.PATRON_OPERATOR_KEY) return process.env.PATRON_OPERATOR_KEY;
  const file = join(loadConfig().dataDir, "operator-key.txt");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new UsageError(
    `no operator key: pass --key <key|file>, set PATRON_OPERATOR_KEY, or run from where ${file} exists`,
  );
}

/** `patron merchants create <name>`: the operator's call, over the node's API. */
export async function merchantsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { node: { type: "string" }, key: { type: "string" }, json: { type: "boolean" } },
  });
  const [verb, ...names] = positionals;
  if (verb !== "create") {
    throw new UsageError(`merchants needs a subcommand: patron merchants create <name>`);
  }
  const name = names.join(" ").trim();
  if (!name) throw new UsageError("merchants create needs a name: patron merchants create <name>");
  const config = loadConfig();
  const node = (values.node ?? `http://${config.host}:${config.port}`).replace(/\/$/, "");
  const key = operatorKey(values.key);
  let res: Response;
  try {
    res = await fetch(`${node}/v1/merchants`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
  } catch (err) {
    console.error(`FAILED: cannot reach the node at ${node}: ${(err as Error).message}`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as {
    id?: string;
    ownerKey?: string;
    entryIndex?: number;
    error?: { code: string; message: string };
  };
  if (!res.ok || !body.id) {
    console.error(
      `FAILED: ${res.status} ${body.error?.code ?? ""}: ${body.error?.message ?? "unexpected answer"}`,
    );
    return 1;
  }
  if (values.json) {
    console.log(JSON.stringify(body, null, 2));
  } else {
    console.log(`Created merchant "${name}" (${body.id}), entry ${body.entryIndex}.`);
    console.log(`Owner API key (shown once, keep it safe): ${body.ownerKey}`);
  }
  return 0;
}
