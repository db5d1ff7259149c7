/**
 * LedgerAnchor against a real anvil node: the same bytecode, RPC and receipts the ledger's
 * anchoring uses, so these tests also cover the launcher and the deployer.
 *
 * Needs the generated ABI and bytecode: run `node packages/contracts/scripts/compile.mjs` first.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import {
  ANVIL_DEV_KEY,
  type AnvilNode,
  deployLedgerAnchor,
  ledgerAnchorAbi,
  ledgerAnchorCompiler,
  startAnvil,
} from "@patron/contracts";
import {
  type Account,
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  keccak256,
  numberToHex,
  type PublicClient,
  pad,
  parseEventLogs,
  type Transport,
  toHex,
  type WalletClient,
  zeroHash,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// anvil's public dev mnemonic (see ANVIL_DEV_KEY); accounts 0..9 are funded.
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const ORIGIN = "patron.example/ledger/test";

const deployer = privateKeyToAccount(ANVIL_DEV_KEY);
const anchorer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 });
const stranger = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 });

type Wallet = WalletClient<Transport, Chain, Account>;

interface Clients {
  publicClient: PublicClient;
  wallet: (account: Account) => Wallet;
}

function clientsFor(node: Pick<AnvilNode, "rpcUrl" | "chainId">): Clients {
  const chain = defineChain({
    id: node.chainId,
    name: "anvil",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [node.rpcUrl] } },
  });
  const transport = http(node.rpcUrl);
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    wallet: (account) => createWalletClient({ account, chain, transport, pollingInterval: 50 }),
  };
}

const rootOf = (label: string): Hex => keccak256(toHex(label));

/** Runs `action`, expects it to fail with a contract revert, and returns the decoded error. */
async function revertOf(action: Promise<unknown>): Promise<{ name?: string; args: unknown[] }> {
  const error = await action.then(
    () => expect.unreachable("expected the call to revert"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BaseError);
  const reverted = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
  expect(reverted, String(error)).toBeInstanceOf(ContractFunctionRevertedError);
  const data = (reverted as ContractFunctionRevertedError).data;
  return { name: data?.errorName, args: [...(data?.args ?? [])] };
}

describe("LedgerAnchor", () => {
  let node: AnvilNode;
  let clients: Clients;

  beforeAll(async () => {
    node = await startAnvil();
    clients = clientsFor(node);
  });

  afterAll(async () => {
    await node?.stop();
  });

  async function deploy(origin = ORIGIN) {
    const deployed = await deployLedgerAnchor(clients.wallet(deployer), clients.publicClient, {
      anchorer: anchorer.address,
      origin,
    });
    return deployed;
  }

  async function anchor(address: Address, size: bigint, root: Hex, as: Account = anchorer) {
    const hash = await clients.wallet(as).writeContract({
      address,
      abi: ledgerAnchorAbi,
      functionName: "anchor",
      args: [size, root],
    });
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    return receipt;
  }

  const read = (address: Address) => ({
    rootAt: (size: bigint) =>
      clients.publicClient.readContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "rootAt",
        args: [size],
      }),
    latestSize: () =>
      clients.publicClient.readContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "latestSize",
      }),
    origin: () =>
      clients.publicClient.readContract({ address, abi: ledgerAnchorAbi, functionName: "origin" }),
    anchorer: () =>
      clients.publicClient.readContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "anchorer",
      }),
  });

  it("is tested against an up-to-date build of the source", async () => {
    const source = await readFile(new URL("../contracts/LedgerAnchor.sol", import.meta.url));
    const sha256 = createHash("sha256").update(source).digest("hex");
    expect(
      ledgerAnchorCompiler.sourceSha256,
      "src/generated is stale: run node packages/contracts/scripts/compile.mjs",
    ).toBe(sha256);
  });

  it("deploys with the given anchorer and origin and nothing anchored", async () => {
    const deployed = await deploy();
    expect(deployed.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(deployed.blockNumber).toBeGreaterThan(0n);
    expect(deployed.gasUsed).toBeGreaterThan(0n);
    const receipt = await clients.publicClient.getTransactionReceipt({ hash: deployed.txHash });
    expect(receipt.contractAddress?.toLowerCase()).toBe(deployed.address.toLowerCase());

    const c = read(deployed.address);
    expect(await c.anchorer()).toBe(anchorer.address);
    expect(await c.origin()).toBe(ORIGIN);
    expect(await c.latestSize()).toBe(0n);
    expect(await c.rootAt(0n)).toBe(zeroHash);
    expect(await c.rootAt(1n)).toBe(zeroHash);
  });

  it("refuses to deploy without a usable anchorer or origin", async () => {
    const wallet = clients.wallet(deployer);
    await expect(
      deployLedgerAnchor(wallet, clients.publicClient, {
        anchorer: "0x0000000000000000000000000000000000000000",
        origin: ORIGIN,
      }),
    ).rejects.toThrow(/invalid anchorer/);
    await expect(
      deployLedgerAnchor(wallet, clients.publicClient, { anchorer: anchorer.address, origin: "" }),
    ).rejects.toThrow(/origin/);
  });

  it("lets the anchorer anchor and emits Anchored with the size indexed", async () => {
    const { address } = await deploy();
    const root = rootOf("tree of 5");
    const receipt = await anchor(address, 5n, root);

    const events = parseEventLogs({ abi: ledgerAnchorAbi, logs: receipt.logs });
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.eventName).toBe("Anchored");
    expect(event?.address.toLowerCase()).toBe(address.toLowerCase());
    expect(event?.args).toEqual({ size: 5n, root });
    // Indexed: the size is a topic, so a verifier can ask the node for one size's anchor.
    expect(event?.topics[1]).toBe(pad(numberToHex(5n)));
    const bySize = await clients.publicClient.getContractEvents({
      address,
      abi: ledgerAnchorAbi,
      eventName: "Anchored",
      args: { size: 5n },
      fromBlock: 0n,
    });
    expect(bySize.map((e) => e.args.root)).toEqual([root]);
  });

  it("rejects any other account with NotAnchorer, the deployer included", async () => {
    const { address } = await deploy();
    for (const account of [stranger, deployer]) {
      const error = await revertOf(
        clients.wallet(account).writeContract({
          address,
          abi: ledgerAnchorAbi,
          functionName: "anchor",
          args: [1n, rootOf("forged")],
        }),
      );
      expect(error.name).toBe("NotAnchorer");
      expect(error.args).toEqual([account.address]);
    }

    // Also when mined rather than rejected by gas estimation: the transaction reverts on chain.
    const hash = await clients.wallet(stranger).writeContract({
      address,
      abi: ledgerAnchorAbi,
      functionName: "anchor",
      args: [1n, rootOf("forged")],
      gas: 100_000n,
    });
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("reverted");
    expect(receipt.logs).toEqual([]);
    expect(await read(address).rootAt(1n)).toBe(zeroHash);
    expect(await read(address).latestSize()).toBe(0n);
  });

  it("rejects sizes that do not increase with SizeNotIncreasing", async () => {
    const { address } = await deploy();
    await anchor(address, 10n, rootOf("tree of 10"));

    const anchorAs = (size: bigint) =>
      revertOf(
        clients.wallet(anchorer).writeContract({
          address,
          abi: ledgerAnchorAbi,
          functionName: "anchor",
          args: [size, rootOf(`tree of ${size}`)],
        }),
      );
    expect(await anchorAs(10n)).toEqual({ name: "SizeNotIncreasing", args: [10n, 10n] });
    expect(await anchorAs(9n)).toEqual({ name: "SizeNotIncreasing", args: [9n, 10n] });
    expect(await read(address).rootAt(10n)).toBe(rootOf("tree of 10"));
    expect(await read(address).rootAt(9n)).toBe(zeroHash);

    // Size 0 is the empty tree; it can never be anchored, even first.
    const fresh = await deploy();
    const first = await revertOf(
      clients.wallet(anchorer).writeContract({
        address: fresh.address,
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [0n, rootOf("empty")],
      }),
    );
    expect(first).toEqual({ name: "SizeNotIncreasing", args: [0n, 0n] });
  });

  it("rejects a zero root with ZeroRoot", async () => {
    const { address } = await deploy();
    const error = await revertOf(
      clients.wallet(anchorer).writeContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [1n, zeroHash],
      }),
    );
    expect(error).toEqual({ name: "ZeroRoot", args: [] });
    expect(await read(address).latestSize()).toBe(0n);
  });

  it("returns what was stored, for 64-bit sizes too", async () => {
    const origin = "patron.example/ledger/🏪 merchant-42";
    const { address } = await deploy(origin);
    // Past 2^53, where a JavaScript number would silently round.
    const sizes = [1n, 7n, 1_000_000n, 2n ** 53n + 1n, 2n ** 64n - 1n];
    for (const size of sizes) await anchor(address, size, rootOf(`tree of ${size}`));

    const c = read(address);
    for (const size of sizes) expect(await c.rootAt(size)).toBe(rootOf(`tree of ${size}`));
    expect(await c.rootAt(2n)).toBe(zeroHash);
    expect(await c.rootAt(2n ** 53n)).toBe(zeroHash);
    expect(await c.latestSize()).toBe(2n ** 64n - 1n);
    expect(await c.origin()).toBe(origin);
    expect(await c.anchorer()).toBe(anchorer.address);
  });

  it("costs well under 100k gas per anchor", async () => {
    const deployed = await deploy();
    const gas: bigint[] = [];
    for (let i = 1n; i <= 6n; i++) {
      const receipt = await anchor(deployed.address, i * 1_000n, rootOf(`gas ${i}`));
      gas.push(receipt.gasUsed);
    }
    const [first, ...later] = gas;
    console.log(
      [
        "LedgerAnchor gas (from receipts)",
        `  deploy           ${deployed.gasUsed}`,
        `  first anchor     ${first}`,
        `  later anchors    ${later.join(", ")}`,
      ].join("\n"),
    );
    for (const used of gas) expect(used).toBeLessThan(100_000n);
    // The first anchor also sets latestSize from zero; after that each anchor costs the same,
    // give or take calldata pricing (a zero byte in the root is 12 gas cheaper).
    const laterGas = later.map(Number);
    const spread = Math.max(...laterGas) - Math.min(...laterGas);
    expect(spread).toBeLessThanOrEqual(32 * 12);
    for (const used of later) expect(used).toBeLessThan(first as bigint);
  });
});

describe("anvil state file", () => {
  let dir: string;
  const running: AnvilNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "patron-anvil-state-"));
  });

  afterAll(async () => {
    await Promise.all(running.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(stateFile: string) {
    const node = await startAnvil({ stateFile });
    running.push(node);
    return node;
  }

  it("keeps deployed contracts and anchors across a restart", async () => {
    // A directory that does not exist yet: anvil itself would silently skip the dump.
    const stateFile = join(dir, "chain", "anvil-state.json");
    const root = rootOf("persisted");

    const first = await start(stateFile);
    const c1 = clientsFor(first);
    const { address } = await deployLedgerAnchor(c1.wallet(deployer), c1.publicClient, {
      anchorer: anchorer.address,
      origin: ORIGIN,
    });
    const hash = await c1.wallet(anchorer).writeContract({
      address,
      abi: ledgerAnchorAbi,
      functionName: "anchor",
      args: [42n, root],
    });
    const anchored = await c1.publicClient.waitForTransactionReceipt({ hash });
    await first.stop();
    expect((await stat(stateFile)).size).toBeGreaterThan(0);

    const second = await start(stateFile);
    expect(second.pid).not.toBe(first.pid);
    const c2 = clientsFor(second);
    const at = { address, abi: ledgerAnchorAbi } as const;
    expect(await c2.publicClient.readContract({ ...at, functionName: "rootAt", args: [42n] })).toBe(
      root,
    );
    expect(await c2.publicClient.readContract({ ...at, functionName: "latestSize" })).toBe(42n);
    expect(await c2.publicClient.readContract({ ...at, functionName: "origin" })).toBe(ORIGIN);
    // The chain continues where it stopped: blocks, receipts, events, account nonces.
    expect(await c2.publicClient.getBlockNumber()).toBe(anchored.blockNumber);
    const receipt = await c2.publicClient.getTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    const events = await c2.publicClient.getContractEvents({
      ...at,
      eventName: "Anchored",
      fromBlock: 0n,
    });
    expect(events.map((e) => [e.args.size, e.args.root])).toEqual([[42n, root]]);

    const next = await c2.wallet(anchorer).writeContract({
      ...at,
      functionName: "anchor",
      args: [43n, rootOf("after restart")],
    });
    expect((await c2.publicClient.waitForTransactionReceipt({ hash: next })).status).toBe(
      "success",
    );
    await second.stop();

    // And once more, to see the second session's anchor was saved as well.
    const third = await start(stateFile);
    const c3 = clientsFor(third);
    expect(await c3.publicClient.readContract({ ...at, functionName: "latestSize" })).toBe(43n);
    await third.stop();
  });

  it("with stateInterval, keeps anchors made before anvil itself is killed", async () => {
    const stateFile = join(dir, "periodic", "state.json");
    const first = await startAnvil({ stateFile, stateInterval: 1 });
    running.push(first);
    const c1 = clientsFor(first);
    const { address } = await deployLedgerAnchor(c1.wallet(deployer), c1.publicClient, {
      anchorer: anchorer.address,
      origin: ORIGIN,
    });
    const hash = await c1.wallet(anchorer).writeContract({
      address,
      abi: ledgerAnchorAbi,
      functionName: "anchor",
      args: [3n, rootOf("periodic")],
    });
    await c1.publicClient.waitForTransactionReceipt({ hash });
    // Past the next periodic dump, then a crash: no dump on exit.
    await new Promise((done) => setTimeout(done, 2_500));
    process.kill(first.pid, "SIGKILL");
    await first.stop();

    const second = await start(stateFile);
    const c2 = clientsFor(second);
    expect(
      await c2.publicClient.readContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "rootAt",
        args: [3n],
      }),
    ).toBe(rootOf("periodic"));
    await second.stop();
  });

  it("stops anvil and keeps its state when the process that started it dies", async () => {
    const stateFile = join(dir, "orphaned", "state.json");
    // A separate Node process starts anvil and is then killed outright, as a crash or an OOM kill
    // would: no exit handler runs, so only the watchdog can stop anvil.
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const anvilModule = new URL("../src/anvil.ts", import.meta.url).href;
    const script = [
      `import { startAnvil } from ${JSON.stringify(anvilModule)};`,
      "const node = await startAnvil({ stateFile: process.env.STATE_FILE });",
      "console.log(JSON.stringify({ rpcUrl: node.rpcUrl, chainId: node.chainId, pid: node.pid }));",
      "setInterval(() => {}, 60_000);",
    ].join("\n");
    const parent = spawn(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], {
      env: { ...process.env, STATE_FILE: stateFile },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const parentExited = once(parent, "exit");
    let orphan: Pick<AnvilNode, "rpcUrl" | "chainId" | "pid">;
    let address: Address;
    try {
      const [line] = await Promise.race([
        once(createInterface({ input: parent.stdout }), "line") as Promise<[string]>,
        parentExited.then(() => expect.unreachable("the process starting anvil exited early")),
      ]);
      orphan = JSON.parse(line);

      const c1 = clientsFor(orphan);
      ({ address } = await deployLedgerAnchor(c1.wallet(deployer), c1.publicClient, {
        anchorer: anchorer.address,
        origin: ORIGIN,
      }));
      const hash = await c1.wallet(anchorer).writeContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [7n, rootOf("orphaned")],
      });
      await c1.publicClient.waitForTransactionReceipt({ hash });

      parent.kill("SIGKILL");
      await parentExited;
    } finally {
      // Leaves no process behind if the test fails before the kill.
      if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answering = await fetch(orphan.rpcUrl, { method: "POST" }).then(
        () => true,
        () => false,
      );
      // anvil may still be writing its dump; only a complete one counts.
      const dumped = await readFile(`${stateFile}.next`, "utf8")
        .then((text) => JSON.parse(text) !== null)
        .catch(() => false);
      if (!answering && dumped) break;
      expect(Date.now(), "anvil outlived the process that started it").toBeLessThan(deadline);
      await new Promise((done) => setTimeout(done, 50));
    }

    const node = await start(stateFile);
    const c2 = clientsFor(node);
    expect(
      await c2.publicClient.readContract({
        address,
        abi: ledgerAnchorAbi,
        functionName: "rootAt",
        args: [7n],
      }),
    ).toBe(rootOf("orphaned"));
    await node.stop();
  });
});
