/**
 * What anchoring costs and how long a user waits for it, measured on a real node: `startNode`
 * with its defaults (embedded anvil chain in a fresh data directory, the LedgerAnchor contract
 * deployed on first start, PATRON_ANCHOR_INTERVAL_MS 5000, PATRON_ANCHOR_CONFIRMATIONS 1).
 *
 * - Idle log: one write at a time, each at a different phase of the anchorer's timer (a
 *   golden-ratio sequence over the interval); the client POSTs an attestation and polls
 *   `GET /v1/ledger/receipts/{index}?anchored=true` until it answers 200, the moment the
 *   receipt verifies against the chain alone.
 * - Busy log: a write every 100 ms for a while; every 5th write is timed the same way, and the
 *   anchors the node sends meanwhile give the anchoring rate (and gas per hour) of a busy log.
 * - Gas: from the mined receipts of the node's own anchor transactions (the first anchor also
 *   initialises the contract's `latestSize` slot, so it is reported apart from the steady
 *   state), and of the contract's deployment. Every confirmed anchor's root is read back from
 *   the contract and compared with the node's.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ledgerAnchorAbi } from "@patron/contracts";
import type { Hex } from "viem";
import { loadConfig } from "../packages/server/src/config.js";
import { startNode } from "../packages/server/src/node.js";
import { now, percentile, sleep } from "./lib.js";

export interface Latencies {
  count: number;
  p50: number;
  max: number;
  min: number;
  mean: number;
}

export interface AnchoringResult {
  intervalMs: number;
  confirmations: number;
  /** Write (POST answered 201) to anchored receipt (GET …?anchored=true answered 200), ms. */
  endToEndIdleMs: Latencies & { samples: number[] };
  endToEndBusyMs: Latencies;
  /** POST /v1/attestations alone (the sequencer's commit), ms, idle writes. */
  commitMs: { p50: number; max: number };
  /** From the anchor transaction being signed (outbox row) to the node marking it confirmed. */
  signedToConfirmedMs: { p50: number; max: number };
  anchors: number;
  deployGas: number | null;
  firstAnchorGas: number;
  /** Median gas of the anchors after the first. */
  steadyAnchorGas: number;
  /** One anchor per interval: 3,600,000 / intervalMs. */
  anchorsPerHourAtInterval: number;
  busy: { seconds: number; writes: number; anchors: number };
  /** Anchors per hour while the log grew every 100 ms. */
  busyAnchorsPerHour: number;
  /** busyAnchorsPerHour × steadyAnchorGas. */
  busyGasPerHour: number;
}

interface AnchorView {
  size: number;
  root: string;
  txHash: string | null;
  status: string;
  createdAt: string;
  confirmedAt: string | null;
}

function latencies(samples: number[]): Latencies {
  const s = [...samples].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: percentile(s, 50),
    max: s.at(-1) ?? 0,
    min: s[0] ?? 0,
    mean: s.reduce((sum, x) => sum + x, 0) / Math.max(1, s.length),
  };
}

export async function benchAnchoring(opts: {
  /** Writes timed one at a time on an otherwise idle log. */
  idleWrites: number;
  /** How long the log is kept busy (a write every 100 ms). */
  busySeconds: number;
  log?: (s: string) => void;
}): Promise<AnchoringResult> {
  const log = opts.log ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-anchor-"));
  // The node's defaults, as `npm start` runs them: only the data directory and port differ.
  const config = { ...loadConfig({}), dataDir, port: 0 };
  let deployTx: Hex | undefined;
  const node = await startNode(config, {
    log: (line) => {
      const m = /deployed LedgerAnchor at \S+ on chain \d+ \(tx (0x[0-9a-f]{64})\)/i.exec(line);
      if (m) deployTx = m[1] as Hex;
    },
  });
  try {
    const chain = node.chain;
    if (!chain) throw new Error("the node started without a chain");
    const { intervalMs, confirmations } = config.chain;
    log(
      `anchoring: node with embedded chain ${chain.chainId}, contract ${chain.contract}, ` +
        `interval ${intervalMs} ms, ${confirmations} confirmation(s)`,
    );
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${node.ownerKey}`,
    };
    const timeoutMs = 4 * intervalMs + 30_000;
    const listAnchors = async () => {
      const r = await fetch(`${node.url}/v1/ledger/anchors?limit=1000`);
      return ((await r.json()) as { anchors: AnchorView[] }).anchors;
    };

    let written = 0;
    /** POSTs one attestation; resolves with its index and the time the POST took. */
    const write = async () => {
      const digest = createHash("sha256").update(`anchored doc ${written++}`).digest("hex");
      const t0 = now();
      const r = await fetch(`${node.url}/v1/attestations`, {
        method: "POST",
        headers,
        body: JSON.stringify({ digest }),
      });
      if (r.status !== 201) throw new Error(`POST: HTTP ${r.status} ${await r.text()}`);
      const { index } = (await r.json()) as { index: number };
      return { index, t0, commitMs: now() - t0 };
    };
    /** Polls the anchored receipt of `index` until it is served; ms since `t0`. */
    const anchoredAfter = async (index: number, t0: number, pollMs: number) => {
      for (;;) {
        const r = await fetch(`${node.url}/v1/ledger/receipts/${index}?anchored=true`);
        const body = await r.text();
        if (r.status === 200) return now() - t0;
        if (r.status !== 409) throw new Error(`receipt ${index}: HTTP ${r.status} ${body}`);
        if (now() - t0 > timeoutMs) throw new Error(`entry ${index} not anchored in time`);
        await sleep(pollMs);
      }
    };

    // The first anchor covers the node's bootstrap entries (demo merchant and key) and is sent
    // at the first tick after start; wait for it, so the timed writes meet a running timer.
    const firstDeadline = now() + timeoutMs;
    while (!(await listAnchors()).some((a) => a.status === "confirmed")) {
      if (now() > firstDeadline) throw new Error("the bootstrap entries were never anchored");
      await sleep(50);
    }

    // Idle log: one write at a time, at phases spread over the interval.
    const idle: { commitMs: number; endToEndMs: number }[] = [];
    for (let k = 0; k < opts.idleWrites; k++) {
      await sleep(((k * 0.618034) % 1) * intervalMs);
      const w = await write();
      const endToEndMs = await anchoredAfter(w.index, w.t0, 20);
      idle.push({ commitMs: w.commitMs, endToEndMs });
      log(
        `anchoring: idle log, entry ${w.index} committed in ${w.commitMs.toFixed(0)} ms, ` +
          `anchored receipt after ${(endToEndMs / 1000).toFixed(2)} s`,
      );
    }

    // Busy log: a write every 100 ms; every 5th one timed to its anchored receipt.
    log(`anchoring: busy log, a write every 100 ms for ${opts.busySeconds} s`);
    const busyStart = Date.now();
    const busyTimed: Promise<number>[] = [];
    const busyWrites: Promise<unknown>[] = [];
    let busyFailure: unknown;
    const busyEnd = now() + opts.busySeconds * 1000;
    for (let i = 0; now() < busyEnd && busyFailure === undefined; i++) {
      const w = write();
      busyWrites.push(
        w.catch((err: unknown) => {
          busyFailure ??= err;
        }),
      );
      if (i % 5 === 0) busyTimed.push(w.then((x) => anchoredAfter(x.index, x.t0, 50)));
      await sleep(100);
    }
    await Promise.all(busyWrites);
    if (busyFailure !== undefined) throw busyFailure;
    const busyStop = Date.now();
    const busyE2e = await Promise.all(busyTimed);

    // The node's anchors, oldest first, and their gas as mined.
    const listed = await listAnchors();
    const failed = listed.filter((a) => a.status === "failed");
    if (failed.length > 0) throw new Error(`${failed.length} anchor(s) failed`);
    const confirmed = listed
      .filter((a) => a.status === "confirmed" && a.txHash !== null)
      .sort((a, b) => a.size - b.size);
    if (confirmed.length === 0) throw new Error("no confirmed anchor");
    const anchorGas: number[] = [];
    for (const a of confirmed) {
      const receipt = await chain.publicClient.getTransactionReceipt({ hash: a.txHash as Hex });
      anchorGas.push(Number(receipt.gasUsed));
      const onChain = await chain.publicClient.readContract({
        address: chain.contract,
        abi: ledgerAnchorAbi,
        functionName: "rootAt",
        args: [BigInt(a.size)],
      });
      if (String(onChain).toLowerCase() !== `0x${a.root.replace(/^0x/, "")}`.toLowerCase()) {
        throw new Error(`the contract's root at size ${a.size} is not the node's`);
      }
    }
    const deployGas = deployTx
      ? Number((await chain.publicClient.getTransactionReceipt({ hash: deployTx })).gasUsed)
      : null;

    const lag = confirmed
      .filter((a) => a.confirmedAt !== null)
      .map((a) => Date.parse(a.confirmedAt as string) - Date.parse(a.createdAt))
      .sort((a, b) => a - b);
    const busyAnchors = listed.filter((a) => {
      const t = Date.parse(a.createdAt);
      return t >= busyStart && t <= busyStop;
    }).length;
    const busySeconds = (busyStop - busyStart) / 1000;
    const steadyGas = anchorGas.slice(1).sort((a, b) => a - b);
    const firstAnchorGas = anchorGas[0] as number;
    const steadyAnchorGas = steadyGas.length > 0 ? percentile(steadyGas, 50) : firstAnchorGas;
    const busyAnchorsPerHour = (busyAnchors * 3600) / busySeconds;
    const commit = idle.map((t) => t.commitMs).sort((a, b) => a - b);
    const e2eIdle = idle.map((t) => t.endToEndMs);
    return {
      intervalMs,
      confirmations,
      endToEndIdleMs: { ...latencies(e2eIdle), samples: e2eIdle.map((x) => Math.round(x)) },
      endToEndBusyMs: latencies(busyE2e),
      commitMs: { p50: percentile(commit, 50), max: commit.at(-1) ?? 0 },
      signedToConfirmedMs: { p50: percentile(lag, 50), max: lag.at(-1) ?? 0 },
      anchors: confirmed.length,
      deployGas,
      firstAnchorGas,
      steadyAnchorGas,
      anchorsPerHourAtInterval: 3_600_000 / intervalMs,
      busy: { seconds: busySeconds, writes: busyWrites.length, anchors: busyAnchors },
      busyAnchorsPerHour,
      busyGasPerHour: busyAnchorsPerHour * steadyAnchorGas,
    };
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
