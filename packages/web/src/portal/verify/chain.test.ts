import {
  consistencyProof,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  rootFromLeafHashes,
  signCheckpoint,
} from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { openCheckpoint, type VerifiedCheckpoint } from "../../lib/verify.js";
import {
  type AnchorReader,
  type ChainAnchor,
  chainRoot,
  checkAnchorOnChain,
  type NodeAnchors,
  settled,
} from "./chain.js";

// A log of 12 leaves; the history's checkpoint is at 8, the customer's newest entry is 5. The
// "chain" is a map of size → root the test sets, read through an injected reader.

const ORIGIN = "test.example/log";
const keys = generateNoteKeys(ORIGIN);
const leaves = Array.from({ length: 12 }, (_, i) => hashLeaf(new Uint8Array([i])));
const rootOf = (n: number) => rootFromLeafHashes(leaves.slice(0, n));
const hex0x = (n: number) => `0x${encodeHex(rootOf(n))}`;
const checkpointAt = (n: number, origin = ORIGIN, k = keys): VerifiedCheckpoint =>
  openCheckpoint(
    signCheckpoint({ origin, size: BigInt(n), root: rootOf(n), extensions: [] }, k.signerKey),
    k.verifierKey,
  );
const head = checkpointAt(8);
const NEWEST = 5;
const CONTRACT = "0x00000000000000000000000000000000000000aa";
const ZERO = `0x${"00".repeat(32)}`;

interface Chain {
  chainId: number;
  origin: string | undefined;
  roots: Map<number, string>;
  down?: boolean;
}
const chain = (over: Partial<Chain> = {}): Chain => ({
  chainId: 31337,
  origin: ORIGIN,
  roots: new Map(),
  ...over,
});

function readerOf(c: Chain, calls: string[] = []): AnchorReader {
  const answer = <T>(what: string, v: T) => {
    calls.push(what);
    if (c.down)
      return Promise.reject(
        Object.assign(new Error("x"), { shortMessage: "HTTP request failed." }),
      );
    return Promise.resolve(v);
  };
  return {
    chainId: () => answer("chainId", c.chainId),
    origin: () => answer("origin", c.origin),
    latestSize: () => answer("latestSize", Math.max(0, ...c.roots.keys())),
    rootAt: (size) => answer(`rootAt(${size})`, c.roots.get(size) ?? ZERO),
  };
}

const list = (over: Partial<NodeAnchors> = {}): NodeAnchors => ({
  enabled: true,
  chainId: 31337,
  contract: CONTRACT,
  rpcUrl: "http://127.0.0.1:8545",
  anchors: [],
  ...over,
});

/** Consistency proofs from the real tree, or a wrong one when asked. */
const proofs =
  (wrong = false) =>
  async (from: number, to: number) => ({
    from,
    to,
    proof: consistencyProof(leaves.slice(0, to), from).map((h) =>
      wrong ? encodeHex(new Uint8Array(h.length).fill(1)) : encodeHex(h),
    ),
  });

const check = (
  c: Chain,
  opts: { list?: NodeAnchors | undefined; head?: VerifiedCheckpoint; wrongProof?: boolean } = {},
  calls: string[] = [],
): Promise<ChainAnchor> =>
  checkAnchorOnChain({
    list: "list" in opts ? opts.list : list(),
    head: opts.head ?? head,
    newest: NEWEST,
    reader: (url, contract) => {
      expect(url).toBe("http://127.0.0.1:8545");
      expect(contract).toBe(CONTRACT);
      return readerOf(c, calls);
    },
    consistency: proofs(opts.wrongProof),
  });

describe("the history's anchor, read from the chain", () => {
  it("is anchored when the contract holds this checkpoint's root at its size", async () => {
    const calls: string[] = [];
    const listed = list({
      anchors: [
        {
          size: 8,
          root: encodeHex(rootOf(8)),
          txHash: "0xabc",
          blockNumber: 9,
          status: "confirmed",
        },
      ],
    });
    const s = await check(chain({ roots: new Map([[8, hex0x(8)]]) }), { list: listed }, calls);
    expect(s).toEqual({
      kind: "anchored",
      how: "exact",
      size: 8,
      checkpoint: 8,
      source: { host: "127.0.0.1:8545", chainId: 31337, contract: CONTRACT },
      txHash: "0xabc",
      blockNumber: 9,
    });
    expect(calls).toEqual(["chainId", "origin", "rootAt(8)"]);
  });

  it("is anchored by a later root a consistency proof joins to it, or an earlier one holding every entry", async () => {
    const later = await check(chain({ roots: new Map([[11, hex0x(11)]]) }));
    expect(later).toMatchObject({ kind: "anchored", how: "later", size: 11, checkpoint: 8 });
    // The node's transaction is shown only for the size and root the chain holds.
    expect(later).toMatchObject({ txHash: null, blockNumber: null });
    const earlier = await check(chain({ roots: new Map([[7, hex0x(7)]]) }));
    expect(earlier).toMatchObject({ kind: "anchored", how: "earlier", size: 7 });
  });

  it("is not anchored yet while no root on chain holds the newest entry", async () => {
    expect(await check(chain({ roots: new Map([[5, hex0x(5)]]) }))).toMatchObject({
      kind: "pending",
      latest: 5,
      size: 8,
      nodeFailing: false,
    });
    const failing = list({
      anchors: [{ size: 8, root: "00", txHash: null, blockNumber: null, status: "failed" }],
    });
    expect(await check(chain(), { list: failing })).toMatchObject({
      kind: "pending",
      latest: 0,
      nodeFailing: true,
    });
  });

  it("raises a mismatch for another root, a proof that does not join, another chain or log", async () => {
    const forked = await check(chain({ roots: new Map([[8, `0x${"ab".repeat(32)}`]]) }));
    expect(forked).toMatchObject({
      kind: "mismatch",
      problem: { what: "root", size: 8, root: "ab".repeat(32) },
    });
    // A later root that is not an extension of this checkpoint: the real proof does not join.
    const other = [...leaves.slice(0, 6), hashLeaf(new Uint8Array([99])), ...leaves.slice(7, 11)];
    const elsewhere = `0x${encodeHex(rootFromLeafHashes(other))}`;
    expect(await check(chain({ roots: new Map([[11, elsewhere]]) }))).toMatchObject({
      kind: "mismatch",
      problem: { what: "consistency", size: 11 },
    });
    expect(
      await check(chain({ roots: new Map([[11, hex0x(11)]]) }), { wrongProof: true }),
    ).toMatchObject({ kind: "mismatch", problem: { what: "consistency" } });
    expect(await check(chain({ chainId: 1 }))).toMatchObject({
      kind: "mismatch",
      source: { chainId: 1 },
      problem: { what: "chain", nodeChainId: 31337 },
    });
    expect(await check(chain({ origin: "other.example/log" }))).toMatchObject({
      kind: "mismatch",
      problem: { what: "origin", contractOrigin: "other.example/log", logOrigin: ORIGIN },
    });
    expect(await check(chain({ origin: undefined }))).toMatchObject({
      kind: "mismatch",
      problem: { what: "noContract" },
    });
  });

  it("says why it could not tell: no RPC published, the chain down, no anchoring, no API", async () => {
    expect(await check(chain(), { list: list({ rpcUrl: null }) })).toEqual({
      kind: "noRpc",
      chainId: 31337,
      contract: CONTRACT,
    });
    expect(await check(chain({ down: true }))).toEqual({
      kind: "unreachable",
      host: "127.0.0.1:8545",
      detail: "HTTP request failed.",
    });
    expect(await check(chain(), { list: list({ enabled: false, contract: null }) })).toEqual({
      kind: "off",
    });
    expect(await check(chain(), { list: undefined })).toEqual({ kind: "unavailable" });
    const noProof = await checkAnchorOnChain({
      list: list(),
      head,
      newest: NEWEST,
      reader: () => readerOf(chain({ roots: new Map([[11, hex0x(11)]]) })),
      consistency: () => Promise.reject(new Error("503")),
    });
    expect(noProof).toMatchObject({ kind: "proofError", detail: "503" });
  });

  it("reads the chain's roots, and asks again only while something is to come", () => {
    expect(chainRoot(ZERO)).toBeUndefined();
    expect(chainRoot(`0x${"AB".repeat(32)}`)).toBe("ab".repeat(32));
    expect(() => chainRoot("0x1234")).toThrow(/not a root/);
    expect(settled(undefined)).toBe(false);
    expect(settled({ kind: "unreachable", host: "h", detail: "" })).toBe(false);
    expect(settled({ kind: "noRpc", chainId: 1, contract: CONTRACT })).toBe(true);
  });
});
