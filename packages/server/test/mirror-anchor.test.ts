/**
 * `patron mirror --chain --contract`: a node anchoring on its embedded chain (a real anvil), and a
 * second anvil holding LedgerAnchor contracts that anchor roots the log never signed.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ANVIL_DEV_KEY,
  type AnvilNode,
  deployLedgerAnchor,
  ledgerAnchorAbi,
  startAnvil,
} from "@patron/contracts";
import { decodeHex, verifyCheckpoint } from "@patron/ledger";
import { type Address, type Hex, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor } from "../src/chain/client.js";
import { anchoredLatestSize, mirrorAnchorCheck } from "../src/chain/verify.js";
import { mirrorCommand } from "../src/mirror/cli.js";
import { AnchorConflict, ForkAlarm, MirrorError, runMirror } from "../src/mirror/mirror.js";
import { type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import { runCli } from "./child.js";
import { captured } from "./mirror-helpers.js";

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "patron-mirror-anchor-"));
  dirs.push(d);
  return d;
};

const stateSize = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).size as string;

describe("patron mirror --chain", () => {
  let node: PatronNode;
  let cleanup: () => void;
  /** Another chain, where the test plays a log operator anchoring roots it never signed. */
  let other: AnvilNode;
  let otherClients: ReturnType<typeof clientsFor>;

  beforeAll(async () => {
    const c = pglite.config();
    cleanup = c.cleanup;
    // A long interval: the test anchors by driving the anchorer itself, one round at a time.
    const config = {
      ...c.config,
      chain: { ...c.config.chain, mode: "embedded" as const, intervalMs: 3_600_000 },
    };
    [node, other] = await Promise.all([startNode(config, { listen: true }), startAnvil()]);
    otherClients = clientsFor(other.rpcUrl, other.chainId, ANVIL_DEV_KEY);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([node?.close(), other?.stop()]);
    cleanup?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const chain = () => node.chain as NonNullable<PatronNode["chain"]>;

  const attest = async (n: number, tag: string) => {
    for (let i = 0; i < n; i++) {
      const r = await node.app.inject({
        method: "POST",
        url: "/v1/attestations",
        headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "application/json" },
        payload: { digest: digest(`${tag}-${i}`) },
      });
      expect(r.statusCode).toBe(201);
    }
  };

  /** Drives the node's anchorer until the chain anchors the current head. */
  async function anchorHead() {
    const size = node.sequencer.head.size;
    for (let round = 0; round < 20; round++) {
      await node.anchorer?.tick();
      if ((await anchoredLatestSize(chain().publicClient, chain().contract)) === size) return size;
    }
    throw new Error(`the node did not anchor size ${size}`);
  }

  /** A LedgerAnchor on the other chain whose anchorer (the dev key) anchors what it is told. */
  async function rogueContract(anchors: [bigint, Hex][], origin = node.identity.origin) {
    const { walletClient, publicClient, account } = otherClients;
    const { address } = await deployLedgerAnchor(walletClient, publicClient, {
      anchorer: account.address,
      origin,
    });
    const txs: Hex[] = [];
    for (const [size, root] of anchors) {
      const hash = await walletClient.writeContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [size, root],
        account,
        chain: walletClient.chain,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe("success");
      txs.push(hash);
    }
    return { address, txs };
  }

  const wrongRoot = (tag: string) => `0x${digest(`not the log's root: ${tag}`)}` as Hex;

  it("mirrors a log whose checkpoints agree with its anchors", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    await attest(3, "anchored");
    const anchored = await anchorHead();
    const args = [
      "mirror",
      node.url,
      "--dir",
      dir,
      "--chain",
      chain().rpcUrl,
      "--contract",
      chain().contract,
    ];
    const first = await runCli(args, {});
    expect(first.stderr).toContain(
      `anchors: checkpoint ${anchored} is anchored on chain ${chain().chainId} (same root)`,
    );
    expect(first.stdout).toMatch(new RegExp(`^OK: mirrored ${anchored} entries`));
    expect(first.code).toBe(0);

    // Newer than every anchor: the source proves its checkpoint extends the latest one.
    await attest(2, "not yet anchored");
    const size = node.sequencer.head.size;
    const second = await runCli(args, {});
    expect(second.stderr).toContain(
      `anchors: checkpoint ${size} extends the chain's latest anchor (size ${anchored})`,
    );
    expect(second.code).toBe(0);
    expect(stateSize(dir)).toBe(String(size));

    // In process: a checkpoint the chain's latest anchor proves consistent with (older than it,
    // its own size never anchored).
    await attest(2, "later");
    const latest = await anchorHead();
    const log: string[] = [];
    const check = mirrorAnchorCheck(chain().rpcUrl, chain().contract, (l) => log.push(l));
    const old = (await node.app.inject(`/v1/ledger/checkpoints?after=${anchored}&limit=1`)).json()
      .checkpoints[0] as { size: number; note: string };
    expect(BigInt(old.size) < latest).toBe(true);
    const cp = verifyCheckpoint(old.note, node.identity.verifierKey);
    const consistency = async (from: bigint, to: bigint) =>
      (
        (await node.app.inject(`/v1/ledger/proofs/consistency?from=${from}&to=${to}`)).json()
          .proof as string[]
      ).map(decodeHex);
    await check(cp, { consistency });
    expect(log).toEqual([
      `anchors: checkpoint ${old.size} is consistent with the chain's anchor at size ${latest} on chain ${chain().chainId}`,
    ]);
    // The same answer is not repeated (a --follow mirror checks at every poll).
    await check(cp, { consistency });
    expect(log).toHaveLength(1);
    // A proof that does not join the two is a conflict.
    await expect(
      check(cp, {
        consistency: async (f, t) => {
          const proof = await consistency(f, t);
          const first = proof[0] as Uint8Array;
          first[0] = (first[0] as number) ^ 1;
          return proof;
        },
      }),
    ).rejects.toBeInstanceOf(AnchorConflict);
  });

  it("raises an ALARM and keeps the evidence when the chain anchors another root at the checkpoint's size", {
    timeout: 120_000,
  }, async () => {
    const size = node.sequencer.head.size;
    const root = wrongRoot("exact");
    const rogue = await rogueContract([[size, root]]);
    const dir = tempDir();
    const r = await runCli(
      ["mirror", node.url, "--dir", dir, "--chain", other.rpcUrl, "--contract", rogue.address],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      new RegExp(`^ALARM: ANCHOR CONFLICT: the chain anchors root ${root} at size ${size}, `, "m"),
    );
    const path = /^Evidence: (.+)$/m.exec(r.stderr)?.[1] as string;
    expect(path).toMatch(/anchor-evidence-.*\.json$/);
    const evidence = JSON.parse(readFileSync(path, "utf8"));
    expect(evidence).toMatchObject({
      format: "patron-mirror-anchor-evidence/1",
      kind: "anchor",
      origin: node.identity.origin,
      verifierKey: node.identity.verifierKey,
      checkpoint: { size: String(size), note: node.sequencer.head.note },
      anchor: {
        chainId: other.chainId,
        contract: rogue.address,
        size: String(size),
        root,
        txHash: rogue.txs[0],
      },
    });
    expect(
      toHex(verifyCheckpoint(evidence.checkpoint.note, node.identity.verifierKey).root),
    ).not.toBe(root);
    // Nothing was kept: the mirror pinned the log, and holds no entry of it.
    expect(stateSize(dir)).toBe("0");
    expect(readdirSync(join(dir, "entries"))).toEqual([]);
  });

  it("raises the alarm when a smaller anchored root is not a prefix of the log", {
    timeout: 120_000,
  }, async () => {
    const root = wrongRoot("prefix");
    const rogue = await rogueContract([[1n, root]]);
    const dir = tempDir();
    const err = await runMirror({
      url: node.url,
      dir,
      checkAnchor: mirrorAnchorCheck(other.rpcUrl, rogue.address, () => {}),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForkAlarm);
    expect((err as ForkAlarm).code).toBe("anchor");
    expect((err as Error).message).toMatch(
      new RegExp(
        `the chain anchors root ${root} at size 1, and the source cannot prove that its signed checkpoint of size ${node.sequencer.head.size} .* extends it`,
      ),
    );
    const evidence = JSON.parse(readFileSync((err as ForkAlarm).evidence, "utf8"));
    expect(evidence.anchor).toMatchObject({ size: "1", root, txHash: rogue.txs[0] });
    expect(evidence.consistencyProof).toMatchObject({
      from: "1",
      to: String(node.sequencer.head.size),
      verifies: false,
    });
    expect(stateSize(dir)).toBe("0");
  });

  it("checks the chain again when there is nothing new to mirror", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const good = await captured(() =>
      mirrorCommand([
        node.url,
        "--dir",
        dir,
        "--chain",
        chain().rpcUrl,
        "--contract",
        chain().contract,
      ]),
    );
    expect(good.value).toBe(0);
    const size = node.sequencer.head.size;
    expect(stateSize(dir)).toBe(String(size));

    // The same, up-to-date copy against a chain that anchors another root at its size.
    const rogue = await rogueContract([[size, wrongRoot("up to date")]]);
    const bad = await captured(() =>
      mirrorCommand([node.url, "--dir", dir, "--chain", other.rpcUrl, "--contract", rogue.address]),
    );
    expect(bad.value).toBe(1);
    expect(bad.err).toMatch(/^ALARM: ANCHOR CONFLICT: /m);
    expect(bad.err).toMatch(/^Evidence: .*anchor-evidence-.*\.json$/m);
    expect(stateSize(dir)).toBe(String(size));
  });

  it("fails, without an alarm, on a chain it cannot read or a contract of another log", {
    timeout: 120_000,
  }, async () => {
    const foreign = await rogueContract([], "example.com/another-log");
    const wrongLog = await captured(() =>
      mirrorCommand([
        node.url,
        "--dir",
        tempDir(),
        "--chain",
        other.rpcUrl,
        "--contract",
        foreign.address,
      ]),
    );
    expect(wrongLog.value).toBe(1);
    expect(wrongLog.err).toMatch(
      /^FAILED: the LedgerAnchor 0x[0-9a-fA-F]{40} on chain \d+ anchors the log "example\.com\/another-log", not /m,
    );

    const nothing = `0x${"ab".repeat(20)}` as Address;
    const noContract = await captured(() =>
      mirrorCommand([node.url, "--dir", tempDir(), "--chain", other.rpcUrl, "--contract", nothing]),
    );
    expect(noContract.value).toBe(1);
    expect(noContract.err).toMatch(/^FAILED: there is no contract at 0x(ab){20} on chain \d+/m);

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dir = tempDir();
    const err = await runMirror({
      url: node.url,
      dir,
      checkAnchor: mirrorAnchorCheck(`http://127.0.0.1:${port}`, chain().contract, () => {}),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorError);
    expect(err).not.toBeInstanceOf(ForkAlarm);
    expect((err as MirrorError).code).toBe("chain");
    expect((err as Error).message).toMatch(/^cannot read the chain id of the LedgerAnchor/);
    expect(stateSize(dir)).toBe("0");
    expect(readdirSync(dir).filter((n) => n.includes("evidence"))).toEqual([]);
  });
});
