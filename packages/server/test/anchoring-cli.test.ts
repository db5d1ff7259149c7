import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnvilNode, startAnvil } from "@patron/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startNode } from "../src/node.js";
import { runCli, startServer } from "./child.js";

const OWNER = `pat_${"c".repeat(43)}`;
const digest = (s: string) => createHash("sha256").update(s).digest("hex");

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rpcAlive = async (url: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(2_000),
  }).then(
    (r) => r.ok,
    () => false,
  );

/**
 * The embedded chain as `npm start` runs it: anvil as a child process with its state in the data
 * directory, the contract deployed on the first start, stopped with the server, and the same
 * chain state (and contract) after a restart.
 */
describe("patron start with the embedded chain", () => {
  const dir = mkdtempSync(join(tmpdir(), "patron-anchor-cli-"));
  const env = {
    PATRON_DATA_DIR: dir,
    PATRON_OWNER_KEY: OWNER,
    PATRON_ANCHOR_INTERVAL_MS: "300",
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("anchors, stops anvil with the server, continues on the same chain, and audits against it", {
    timeout: 240_000,
  }, async () => {
    const first = await startServer(env);
    let anchors: { chainId: number; contract: string; anchors: { size: number; status: string }[] };
    let rpcUrl: string;
    try {
      const w = await fetch(`${first.url}/v1/attestations`, {
        method: "POST",
        headers: { authorization: `Bearer ${OWNER}`, "content-type": "application/json" },
        body: JSON.stringify({ digest: digest("contract v1") }),
      });
      expect(w.status).toBe(201);
      const { index } = (await w.json()) as { index: number };

      // From a write to a receipt that verifies against the chain alone.
      const res = await waitFor("an anchored receipt", async () => {
        const r = await fetch(`${first.url}/v1/ledger/receipts/${index}?anchored=true`);
        return r.status === 200 ? r : undefined;
      });
      expect(res.headers.get("patron-anchor")).toMatch(/^chain=\d+; contract=0x[0-9a-fA-F]{40}; /);
      const receiptFile = join(dir, "r.tlog-proof");
      writeFileSync(receiptFile, await res.text());
      const json = (await (
        await fetch(`${first.url}/v1/ledger/receipts/${index}?anchored=true&format=json`)
      ).json()) as { anchor: { contract: string; exact: boolean; txHash: string } };
      expect(json.anchor).toMatchObject({ exact: true });
      expect(json.anchor.txHash).toMatch(/^0x[0-9a-f]{64}$/);

      anchors = (await (await fetch(`${first.url}/v1/ledger/anchors`)).json()) as typeof anchors;
      expect(anchors.anchors.some((a) => a.status === "confirmed")).toBe(true);
      rpcUrl = /\((http:\/\/[^)]+)\)/.exec(first.output())?.[1] ?? "";
      expect(rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(await rpcAlive(rpcUrl)).toBe(true);

      const key = (await (await fetch(`${first.url}/v1/ledger/key`)).text()).trim();
      const verified = await runCli(
        ["verify", receiptFile, "--key", key, "--chain", rpcUrl, "--contract", anchors.contract],
        {},
      );
      expect(verified.stdout).toMatch(/the chain anchors this checkpoint's root/);
      expect(verified.code).toBe(0);
    } finally {
      first.child.kill("SIGTERM");
    }
    expect(await first.exited).toBe(0);
    expect(await rpcAlive(rpcUrl)).toBe(false);
    expect(existsSync(join(dir, "chain", "anvil-state.json"))).toBe(true);

    // With the node stopped, audit starts the chain from its saved state and checks every anchor.
    const audited = await runCli(["audit"], { PATRON_DATA_DIR: dir });
    expect(audited.stdout).toMatch(/^OK: .* [1-9]\d* anchors /m);
    expect(audited.code).toBe(0);

    const second = await startServer(env);
    try {
      expect(second.output()).not.toMatch(/deployed LedgerAnchor/);
      const again = (await (
        await fetch(`${second.url}/v1/ledger/anchors`)
      ).json()) as typeof anchors;
      expect(again.contract).toBe(anchors.contract);
      expect(again.chainId).toBe(anchors.chainId);
      // What was anchored before the restart is still on the chain and in the list.
      expect(again.anchors.length).toBeGreaterThanOrEqual(anchors.anchors.length);
      const w = await fetch(`${second.url}/v1/attestations`, {
        method: "POST",
        headers: { authorization: `Bearer ${OWNER}`, "content-type": "application/json" },
        body: JSON.stringify({ digest: digest("contract v2") }),
      });
      const { index } = (await w.json()) as { index: number };
      await waitFor("an anchor after the restart", async () => {
        const r = await fetch(`${second.url}/v1/ledger/receipts/${index}?anchored=true`);
        return r.status === 200 ? true : undefined;
      });
    } finally {
      second.child.kill("SIGTERM");
    }
    expect(await second.exited).toBe(0);
  });

  it("survives kill -9: the chain state saved while running and the outbox carry on", {
    timeout: 240_000,
  }, async () => {
    const crashDir = mkdtempSync(join(tmpdir(), "patron-anchor-crash-"));
    const crashEnv = { ...env, PATRON_DATA_DIR: crashDir };
    try {
      const first = await startServer(crashEnv);
      const anchored = async (url: string, index: number) =>
        waitFor(`entry ${index} anchored`, async () => {
          const r = await fetch(`${url}/v1/ledger/receipts/${index}?anchored=true&format=json`);
          return r.status === 200
            ? ((await r.json()) as { anchor: { contract: string } }).anchor
            : undefined;
        });
      const write = async (url: string, text: string) => {
        const w = await fetch(`${url}/v1/attestations`, {
          method: "POST",
          headers: { authorization: `Bearer ${OWNER}`, "content-type": "application/json" },
          body: JSON.stringify({ digest: digest(text) }),
        });
        expect(w.status).toBe(201);
        return ((await w.json()) as { index: number }).index;
      };
      const before = await anchored(first.url, await write(first.url, "before the crash"));
      // Past anvil's periodic state dump (every 10 s), then no clean shutdown of the node.
      await new Promise((r) => setTimeout(r, 11_000));
      first.child.kill("SIGKILL");
      await first.exited;

      const second = await startServer(crashEnv);
      try {
        // The chain came back with the contract: no redeployment on a fresh chain.
        expect(second.output()).not.toMatch(/deployed LedgerAnchor|state lost/);
        const after = await anchored(second.url, await write(second.url, "after the crash"));
        expect(after.contract).toBe(before.contract);
      } finally {
        second.child.kill("SIGTERM");
      }
      expect(await second.exited).toBe(0);
      const audited = await runCli(["audit"], { PATRON_DATA_DIR: crashDir });
      expect(audited.stdout).toMatch(/^OK: /m);
      expect(audited.code).toBe(0);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  });

  it("refuses a bad chain configuration with a clear message", { timeout: 60_000 }, async () => {
    const r = await runCli(["start"], {
      PATRON_DATA_DIR: mkdtempSync(join(tmpdir(), "patron-anchor-bad-")),
      PATRON_CHAIN: "rpc",
      PORT: "0",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PATRON_CHAIN_RPC_URL and PATRON_CHAIN_KEY/);
  });
});

/** Production wiring: any EVM JSON-RPC endpoint, an anchoring key of the operator's own. */
describe("anchoring on an external EVM endpoint (PATRON_CHAIN=rpc)", () => {
  // anvil's second well-known development account: not the embedded default key.
  const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
  let anvil: AnvilNode;
  const dirs: string[] = [];
  beforeAll(async () => {
    anvil = await startAnvil();
  }, 60_000);
  afterAll(async () => {
    await anvil?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const nodeOn = async (env: Record<string, string>, dataDir: string) => {
    const config = {
      ...loadConfig({ PATRON_CHAIN_RPC_URL: anvil.rpcUrl, PATRON_CHAIN_KEY: KEY, ...env }),
      dataDir,
      port: 0,
    };
    return startNode(config, { listen: false });
  };

  it("deploys with the operator's key, anchors, and refuses a different contract later", {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "patron-rpc-"));
    dirs.push(dataDir);
    const node = await nodeOn({}, dataDir);
    let contract: string;
    try {
      expect(node.chain?.chainId).toBe(anvil.chainId);
      contract = node.chain?.contract as string;
      await node.anchorer?.tick();
      await node.anchorer?.tick();
      const body = (await node.app.inject("/v1/ledger/anchors")).json();
      expect(body.anchors[0]).toMatchObject({
        status: "confirmed",
        size: Number(node.sequencer.head.size),
      });
    } finally {
      await node.close();
    }
    // The same database pointed at another contract is refused rather than forking the anchors.
    await expect(
      nodeOn({ PATRON_ANCHOR_CONTRACT: `0x${"12".repeat(20)}` }, dataDir),
    ).rejects.toThrow(/this ledger is anchored at/);
    // A contract that anchors another log is refused, even with the right key.
    const third = mkdtempSync(join(tmpdir(), "patron-rpc-"));
    dirs.push(third);
    await expect(nodeOn({ PATRON_ANCHOR_CONTRACT: contract }, third)).rejects.toThrow(
      /anchors the log ".*", not this log/,
    );
    // And a contract whose anchorer is another key is refused too.
    const other = mkdtempSync(join(tmpdir(), "patron-rpc-"));
    dirs.push(other);
    await expect(
      nodeOn({ PATRON_ANCHOR_CONTRACT: contract, PATRON_CHAIN_KEY: `0x${"7".repeat(64)}` }, other),
    ).rejects.toThrow(/is not the anchorer/);
  });
});
