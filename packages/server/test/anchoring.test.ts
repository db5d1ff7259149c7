import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ledgerAnchorAbi } from "@patron/contracts";
import { verifyCheckpoint, verifyReceipt } from "@patron/ledger";
import { encodeFunctionData, type Hex, keccak256, type TransactionSerializable, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Anchorer } from "../src/chain/anchorer.js";
import { inflightAnchor, insertAnchor, listAnchors } from "../src/chain/anchors.js";
import { anchoredEvents, verifyCheckpointOnChain } from "../src/chain/verify.js";
import { auditLedger } from "../src/ledger/audit.js";
import { type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import { runCli } from "./child.js";

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

describe("anchoring on a real EVM node (embedded anvil)", () => {
  let node: PatronNode;
  let cleanup: () => void;
  let dataDir: string;
  let anchorer: Anchorer;

  beforeAll(async () => {
    const c = pglite.config({ port: 0 });
    cleanup = c.cleanup;
    dataDir = c.config.dataDir;
    // A long interval: the test drives the anchorer by hand, one round at a time.
    const config = {
      ...c.config,
      chain: {
        ...c.config.chain,
        mode: "embedded" as const,
        intervalMs: 3_600_000,
        confirmations: 2,
      },
    };
    node = await startNode(config, { listen: true });
    if (!node.anchorer) throw new Error("anchoring did not start");
    anchorer = node.anchorer;
  }, 120_000);

  afterAll(async () => {
    await node?.close();
    cleanup?.();
  });

  const attest = async (text: string) => {
    const r = await node.app.inject({
      method: "POST",
      url: "/v1/attestations",
      headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "application/json" },
      payload: { digest: digest(text) },
    });
    expect(r.statusCode).toBe(201);
    return r.json().index as number;
  };
  const chain = () => {
    if (!node.chain) throw new Error("no chain");
    return node.chain;
  };
  const rpc = (method: string, params: unknown[] = []) =>
    node.chain?.publicClient.request({ method: method as never, params: params as never });
  const mine = (blocks = 1) => rpc("anvil_mine", [toHex(blocks)]);

  it("anchors the latest checkpoint, follows it to the confirmation depth and lists it", async () => {
    await attest("first");
    await anchorer.tick(); // signs, stores, sends
    let [a] = await listAnchors(node.db, 1);
    expect(a?.status).toBe("sent");
    await anchorer.tick(); // mined: one confirmation of two
    [a] = await listAnchors(node.db, 1);
    expect(a?.status).toBe("sent");
    expect(a?.confirmations).toBe(1);
    await mine();
    await anchorer.tick();
    [a] = await listAnchors(node.db, 1);
    expect(a?.status).toBe("confirmed");
    expect(a?.size).toBe(node.sequencer.head.size);

    const body = (await node.app.inject("/v1/ledger/anchors")).json();
    expect(body).toMatchObject({
      enabled: true,
      chainId: node.chain?.chainId,
      contract: node.chain?.contract,
    });
    expect(body.anchors[0]).toMatchObject({ status: "confirmed", size: Number(a?.size) });
    expect(body.anchors[0].txHash).toMatch(/^0x[0-9a-f]{64}$/);

    const events = await anchoredEvents(chain().publicClient, chain().contract);
    expect(events.map((e) => e.size)).toContain(a?.size);
  });

  it("issues receipts that verify against the chain alone, or through a consistency proof", async () => {
    const key = (await node.app.inject("/v1/ledger/key")).body.trim();
    const anchored = (await node.app.inject("/v1/ledger/receipts/0?anchored=true")).body;
    const r = verifyReceipt(anchored, key);
    const v = await verifyCheckpointOnChain(chain().publicClient, chain().contract, r.checkpoint);
    expect(v.how).toBe("exact");

    // A newer, not yet anchored entry: its receipt's checkpoint joins the chain by consistency.
    await attest("second");
    const fresh = verifyReceipt((await node.app.inject("/v1/ledger/receipts/0")).body, key);
    await expect(
      verifyCheckpointOnChain(chain().publicClient, chain().contract, fresh.checkpoint),
    ).rejects.toThrow(/not anchored yet/);
    await anchorer.tick();
    await mine(2);
    await anchorer.tick();
    const later = verifyReceipt(
      (await node.app.inject(`/v1/ledger/receipts/0?size=${r.checkpoint.size}`)).body,
      key,
    );
    const viaProof = await verifyCheckpointOnChain(
      chain().publicClient,
      chain().contract,
      later.checkpoint,
      async (from, to) => {
        const p = (
          await node.app.inject(`/v1/ledger/proofs/consistency?from=${from}&to=${to}`)
        ).json();
        return p.proof.map((h: string) => new Uint8Array(Buffer.from(h, "hex")));
      },
    );
    expect(viaProof.how === "exact" || viaProof.how === "consistency").toBe(true);

    // The CLI does the same.
    const file = join(dataDir, "r.tlog-proof");
    writeFileSync(file, anchored);
    const ok = await runCli(
      ["verify", file, "--key", key, "--chain", chain().rpcUrl, "--contract", chain().contract],
      {},
    );
    expect(ok.stdout).toMatch(/the chain anchors this checkpoint's root/);
    expect(ok.code).toBe(0);
  });

  it("resends a transaction that was signed and stored but never sent (crash between the two)", async () => {
    await attest("third");
    const c = chain();
    const head = node.sequencer.head;
    const nonce = await c.publicClient.getTransactionCount({
      address: c.account.address,
      blockTag: "pending",
    });
    const request = await c.walletClient.prepareTransactionRequest({
      account: c.account,
      chain: c.walletClient.chain,
      to: c.contract,
      data: encodeFunctionData({
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [head.size, toHex(head.root)],
      }),
      nonce,
    });
    const rawTx = await c.account.signTransaction(request as TransactionSerializable);
    await insertAnchor(node.db, {
      size: head.size,
      root: head.root,
      chainId: c.chainId,
      contract: c.contract,
      nonce,
      txHash: keccak256(rawTx),
      rawTx,
    });
    expect((await inflightAnchor(node.db))?.status).toBe("signed");
    await anchorer.tick(); // a restarted node finds the outbox row and sends it
    await anchorer.tick();
    await mine();
    await anchorer.tick();
    const [a] = await listAnchors(node.db, 1);
    expect(a).toMatchObject({ status: "confirmed", txHash: keccak256(rawTx), size: head.size });
  });

  it("sends again a transaction that was dropped, and one whose block was reorganised away", async () => {
    await rpc("evm_setAutomine", [false]);
    try {
      await attest("fourth");
      await anchorer.tick();
      const [sent] = await listAnchors(node.db, 1);
      expect(sent?.status).toBe("sent");
      await rpc("anvil_dropTransaction", [sent?.txHash]);
      await anchorer.tick(); // gone from the pool: broadcast again
      await mine();
      await anchorer.tick();
      let [a] = await listAnchors(node.db, 1);
      expect(a?.confirmations).toBe(1);
      const firstBlock = a?.blockHash;

      // Reorganise: the block holding the anchor is replaced before it reaches two confirmations.
      await rpc("anvil_reorg", [1, []]);
      await anchorer.tick();
      await mine();
      await anchorer.tick();
      await mine();
      await anchorer.tick();
      [a] = await listAnchors(node.db, 1);
      expect(a?.status).toBe("confirmed");
      expect(a?.blockHash).not.toBe(firstBlock);
      const events = await anchoredEvents(chain().publicClient, chain().contract);
      expect(events.filter((e) => e.size === a?.size)).toHaveLength(1);
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
  });

  it("paces anchors: the timer's rounds send at most one per interval, however busy the log", async () => {
    const before = (await listAnchors(node.db, 1000)).length;
    await attest("paced");
    await anchorer.tick({ paced: true }); // the last anchor is younger than the (1 h) interval
    expect(await listAnchors(node.db, 1000)).toHaveLength(before);
    await anchorer.tick(); // unpaced, as an operator's nudge
    expect(await listAnchors(node.db, 1000)).toHaveLength(before + 1);
    await anchorer.tick();
  });

  it("audit checks every anchor on the chain and names one that disagrees with the log", async () => {
    const opts = {
      origin: node.identity.origin,
      verifierKey: node.identity.verifierKey,
      anchors: () => anchoredEvents(chain().publicClient, chain().contract),
    };
    const good = await auditLedger(node.db, opts);
    expect(good.problems).toEqual([]);
    expect(good.anchors).toBeGreaterThanOrEqual(3);

    // The anchoring key anchors a root the log never had (a forged history).
    await attest("fifth");
    const size = node.sequencer.head.size;
    const forged = `0x${"ab".repeat(32)}` as Hex;
    await chain().walletClient.writeContract({
      account: chain().account,
      chain: chain().walletClient.chain,
      address: chain().contract,
      abi: ledgerAnchorAbi,
      functionName: "anchor",
      args: [size, forged],
    });
    const bad = await auditLedger(node.db, opts);
    expect(bad.ok).toBe(false);
    expect(bad.problems).toContainEqual(
      expect.objectContaining({ kind: "anchor", at: size.toString() }),
    );
    const cp = verifyCheckpoint(node.sequencer.head.note, node.identity.verifierKey);
    await expect(
      verifyCheckpointOnChain(chain().publicClient, chain().contract, cp),
    ).rejects.toThrow(/different root/);
  });
});
