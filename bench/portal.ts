/**
 * The portal's verification of a customer's history in Chromium (issue 8, "Benchmarks"; target
 * under 2 s for 2,000 entries): a real node, a customer who joined with their own key and has
 * N entries on their chain, signed in; then, in the browser, the portal's work: fetch the
 * history (pages of 1,000, each proven in one checkpoint) and every field value with its salt,
 * and run `verifyHistory` of @patron/ledger (the code the portal runs: every leaf hash and
 * inclusion proof, every customer signature, every commitment, and the chain walk). Node runs
 * the same verification beside it, for the ratio.
 *
 *   node --import tsx bench/portal.ts [--quick] [--entries N] [--rounds N] [--out portal.json]
 *
 * The size is the default: 2,000 entries; --quick uses 500. Reading the anchor from the
 * chain is one JSON-RPC call the portal makes per verification, left out here (the chain is off).
 */

import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  attachmentCommitment,
  canonicalJson,
  type FieldValue,
  type JsonValue,
  type ProvenEntry,
  verifyHistory,
} from "@patron/ledger";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { loadConfig } from "../packages/server/src/config.js";
import { startNode } from "../packages/server/src/node.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../packages/server/src/test-support/chromium.js";
import { fmt, now, table } from "./lib.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    entries: { type: "string" },
    rounds: { type: "string" },
    out: { type: "string", default: "portal.json" },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);
const ENTRIES = Number(args.entries ?? (args.quick ? 500 : 2_000));
const ROUNDS = Number(args.rounds ?? (args.quick ? 3 : 5));
const TARGET_MS = 2_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1] as number;

/** An Ed25519 did:key and a signer, on node:crypto (the portal's key, outside the browser). */
function customerKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const bytes = Buffer.concat([Buffer.from([0xed, 0x01]), raw]);
  let n = BigInt(`0x${bytes.toString("hex")}`);
  let b58 = "";
  while (n > 0n) {
    b58 = (B58[Number(n % 58n)] as string) + b58;
    n /= 58n;
  }
  const did = `did:key:z${b58}`;
  return {
    did,
    sign: (command: Record<string, JsonValue>) => ({
      command,
      signature: sign(
        null,
        Buffer.concat([Buffer.from("patron-command/v1\n"), Buffer.from(canonicalJson(command))]),
        privateKey,
      ).toString("base64url"),
    }),
  };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-portal-"));
  const node = await startNode({
    ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" }),
    dataDir,
    port: 0,
    maxConnectionsPerClient: 0,
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const api = async (method: string, path: string, body?: unknown, token = node.ownerKey) => {
      const r = await fetch(`${node.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field below
      const json: any = await r.json();
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const merchant = (await api("GET", "/v1/merchants/me")).id as string;
    const origin = node.identity.origin;
    const key = customerKey();
    const cmd = (type: string, payload: Record<string, JsonValue>) => ({
      v: 1,
      type,
      ledger: origin,
      actor: key.did,
      merchant,
      nonce: randomBytes(16).toString("base64url"),
      expires: new Date(Date.now() + 3_600_000).toISOString(),
      payload,
    });
    const salt = randomBytes(16);
    const values = { name: "Bench Customer", email: "bench.customer@example.org" };
    const joined = await api(
      "POST",
      "/v1/commands",
      {
        ...key.sign(cmd("customer.join", { attached: attachmentCommitment(salt, values) })),
        attached: { salt: salt.toString("base64url"), values },
      },
      "",
    );
    const customerId = (await api("GET", `/v1/ledger/entries/${joined.entries[0].index}`)).entry
      .payload.customerId as string;
    log(`portal: writing ${ENTRIES} entries on one customer's chain`);
    for (let done = 2; done < ENTRIES; ) {
      const n = Math.min(500, ENTRIES - done);
      const interactions = Array.from({ length: n }, (_, i) => ({
        customerId,
        channel: "store",
        direction: "inbound",
        kind: i % 5 === 0 ? "purchase" : "visit",
        occurredAt: new Date(Date.UTC(2026, 0, 1) + (done + i) * 60_000).toISOString(),
        summary: `Visit ${done + i}`,
        amount: { value: 1_000 + i, currency: "EUR" },
      }));
      await api("POST", "/v1/interactions", { interactions });
      done += n;
    }
    const challenge = (await api("POST", "/v1/portal/challenges", { merchant }, "")).challenge;
    const token = (
      await api("POST", "/v1/portal/sessions", key.sign(cmd("session.open", { challenge })), "")
    ).token as string;
    const verifierKey = (await (await fetch(`${node.url}/v1/ledger/key`)).text()).trim();

    // The library as the portal bundles it for the browser.
    const bundle = await build({
      entryPoints: [join(import.meta.dirname, "../packages/ledger/src/index.ts")],
      bundle: true,
      format: "iife",
      globalName: "PatronLedger",
      platform: "browser",
      write: false,
      minify: true,
    });
    const code = bundle.outputFiles[0]?.text ?? "";
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${node.url}/health`);
    await page.addScriptTag({ content: code });
    // tsx names the functions it compiles with a helper the page lacks: give it one.
    await page.evaluate("globalThis.__name = (f) => f");

    const rows: {
      round: number;
      fetchMs: number;
      verifyMs: number;
      totalMs: number;
      entries: number;
    }[] = [];
    let nodeMs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await page.evaluate(
        async ({ token, records, verifierKey, round }) => {
          const w = globalThis as unknown as {
            PatronLedger: {
              verifyHistory: (x: unknown) => {
                problems: string[];
                entries: unknown[];
                chain: { complete: boolean };
              };
            };
          };
          // The API's JSON, as far as this reads it: a history page, or the fields.
          type Answer = {
            checkpoint: string;
            entries: unknown[];
            next: string | null;
            fields: unknown[];
          };
          const get = async (path: string) =>
            (await (
              await fetch(path, { headers: { authorization: `Bearer ${token}` } })
            ).json()) as Answer;
          const t0 = performance.now();
          const entries: unknown[] = [];
          let page = await get("/v1/portal/history?limit=1000");
          const checkpoint = page.checkpoint as string;
          for (;;) {
            entries.push(...page.entries);
            if (page.next === null) break;
            page = await get(`/v1/portal/history?limit=1000&before=${page.next}`);
          }
          const fields = (await get("/v1/portal/fields")).fields;
          const t1 = performance.now();
          const check = w.PatronLedger.verifyHistory({
            checkpoint,
            verifierKey,
            records,
            entries,
            fields,
          });
          const t2 = performance.now();
          return {
            fetchMs: t1 - t0,
            verifyMs: t2 - t1,
            totalMs: t2 - t0,
            entries: check.entries.length,
            problems: check.problems,
            complete: check.chain.complete,
            data: round === 1 ? { checkpoint, entries, fields } : null,
          };
        },
        { token, records: [customerId], verifierKey, round },
      );
      if (r.problems.length > 0 || !r.complete) {
        throw new Error(`the history did not verify: ${r.problems.slice(0, 3).join("; ")}`);
      }
      rows.push({
        round,
        fetchMs: r.fetchMs,
        verifyMs: r.verifyMs,
        totalMs: r.totalMs,
        entries: r.entries,
      });
      log(
        `portal: round ${round}: ${r.entries} entries, fetch ${fmt(r.fetchMs)} ms, verify ${fmt(r.verifyMs)} ms`,
      );
      if (r.data) {
        const t0 = now();
        const check = verifyHistory({
          checkpoint: r.data.checkpoint,
          verifierKey,
          records: [customerId],
          entries: r.data.entries as ProvenEntry[],
          fields: r.data.fields as FieldValue[],
        });
        nodeMs = now() - t0;
        if (check.problems.length > 0) throw new Error("node's verification disagrees");
      }
    }
    const total = median(rows.map((r) => r.totalMs));
    const verify = median(rows.map((r) => r.verifyMs));
    const fetchMs = median(rows.map((r) => r.fetchMs));
    const entries = rows[0]?.entries ?? 0;
    console.log(
      table(
        [
          "portal verification (median of rounds)",
          "entries",
          "fetch ms",
          "verify ms",
          "total ms",
          "entries/s verified",
        ],
        [
          [
            "Chromium: fetch + verifyHistory",
            entries,
            fetchMs,
            verify,
            total,
            (entries / verify) * 1000,
          ],
          [
            "Node: verifyHistory alone (same data)",
            entries,
            "",
            nodeMs,
            "",
            (entries / nodeMs) * 1000,
          ],
        ],
      ),
    );
    console.log(
      table(
        ["target", "measured", "met"],
        [
          [
            `${entries} entries verified in Chromium < ${TARGET_MS} ms`,
            `${fmt(total)} ms`,
            total < TARGET_MS ? "yes" : "NO",
          ],
        ],
      ),
    );
    console.log(table(["ratio", "value"], [["verify: Chromium / Node", verify / nodeMs]]));
    const out = join(import.meta.dirname, "results");
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, args.out as string),
      `${JSON.stringify({ entries, rounds: rows, medianMs: { fetch: fetchMs, verify, total }, nodeVerifyMs: nodeMs, target: { ms: TARGET_MS, met: total < TARGET_MS } }, null, 2)}\n`,
    );
    log(`results written to bench/results/${args.out}`);
  } finally {
    await browser.close();
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
