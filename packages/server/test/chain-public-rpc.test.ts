import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANVIL_DEV_KEY, type AnvilNode, startAnvil } from "@patron/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { type PatronNode, startNode } from "../src/node.js";

// PATRON_CHAIN_PUBLIC_RPC_URL: the JSON-RPC URL browsers may call to read the LedgerAnchor
// contract themselves. Published in GET /v1/ledger/anchors as `rpcUrl`, and allowed in the
// pages' Content-Security-Policy; the embedded anvil's URL by default, never the node's own
// PATRON_CHAIN_RPC_URL (which may carry a provider's key).

describe("PATRON_CHAIN_PUBLIC_RPC_URL", () => {
  it("is read as a URL browsers can call, or none", () => {
    const rpc = (v?: string) =>
      loadConfig(v === undefined ? {} : { PATRON_CHAIN_PUBLIC_RPC_URL: v }).chain.publicRpcUrl;
    expect(rpc()).toBeUndefined();
    expect(rpc("")).toBeUndefined();
    expect(rpc("none")).toBeNull();
    expect(rpc("https://rpc.example/v1/public")).toBe("https://rpc.example/v1/public");
    expect(() => rpc("rpc.example")).toThrow(ConfigError);
    expect(() => rpc("wss://rpc.example")).toThrow(/http:\/\/ or https:\/\//);
    expect(() => rpc("https://user:secret@rpc.example")).toThrow(/user name or password/);
  });
});

describe("the chain's public RPC URL, published and allowed", () => {
  let tmp: string;
  let anvil: AnvilNode;
  const nodes: PatronNode[] = [];
  const html = { accept: "text/html" };

  /** A node on `env`, serving a stand-in build of the pages. */
  const nodeWith = async (name: string, env: Record<string, string>) => {
    const webRoot = join(tmp, "web");
    const node = await startNode(
      {
        ...loadConfig({ PATRON_DEMO_DATA: "0", PATRON_ACCESS_BATCH_MS: "0", ...env }),
        dataDir: join(tmp, name),
        port: 0,
        webRoot,
      },
      { listen: false },
    );
    nodes.push(node);
    return node;
  };
  const anchors = async (node: PatronNode) =>
    (await node.app.inject("/v1/ledger/anchors")).json() as Record<string, unknown>;
  const connectSrc = async (node: PatronNode, url: string) => {
    const res = await node.app.inject({ url, headers: html });
    expect(res.statusCode, url).toBe(200);
    const csp = String(res.headers["content-security-policy"]);
    return /(?:^|; )connect-src ([^;]*)/.exec(csp)?.[1];
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "patron-public-rpc-"));
    mkdirSync(join(tmp, "web"));
    writeFileSync(join(tmp, "web", "index.html"), "<!doctype html><title>explorer</title>");
    writeFileSync(join(tmp, "web", "me.html"), "<!doctype html><title>portal</title>");
    anvil = await startAnvil();
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => {});
    await anvil?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("is the embedded anvil's by default, in the anchors list and the pages' connect-src", {
    timeout: 120_000,
  }, async () => {
    const node = await nodeWith("embedded", { PATRON_CHAIN: "embedded" });
    const rpcUrl = node.chain?.rpcUrl as string;
    expect(rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(await anchors(node)).toMatchObject({
      enabled: true,
      chainId: node.chain?.chainId,
      contract: node.chain?.contract,
      rpcUrl,
    });
    const origin = new URL(rpcUrl).origin;
    expect(await connectSrc(node, "/me")).toBe(`'self' ${origin}`);
    expect(await connectSrc(node, "/")).toBe(`'self' ${origin}`);
    expect(await connectSrc(node, "/me.html")).toBe(`'self' ${origin}`);
    // anvil answers the browser's CORS preflight for any origin.
    const pre = await fetch(rpcUrl, {
      method: "OPTIONS",
      headers: {
        origin: "https://portal.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    // The OpenAPI schema names the field.
    const spec = (await node.app.inject("/openapi.json")).json();
    const schema =
      spec.paths["/v1/ledger/anchors"].get.responses["200"].content["application/json"].schema;
    expect(schema.properties.rpcUrl).toMatchObject({
      description: expect.stringMatching(/browsers/),
    });
  });

  it("is never the node's own RPC endpoint, unless configured", { timeout: 120_000 }, async () => {
    const node = await nodeWith("rpc", {
      PATRON_CHAIN_RPC_URL: anvil.rpcUrl,
      PATRON_CHAIN_KEY: ANVIL_DEV_KEY,
    });
    expect(node.chain?.rpcUrl).toBe(anvil.rpcUrl);
    expect(await anchors(node)).toMatchObject({ enabled: true, rpcUrl: null });
    expect(await connectSrc(node, "/me")).toBe("'self'");
    expect(JSON.stringify(await anchors(node))).not.toContain(anvil.rpcUrl);
  });

  it("is the configured one, its origin allowed, or none at all", {
    timeout: 120_000,
  }, async () => {
    const published = await nodeWith("published", {
      PATRON_CHAIN_RPC_URL: anvil.rpcUrl,
      PATRON_CHAIN_KEY: ANVIL_DEV_KEY,
      PATRON_CHAIN_PUBLIC_RPC_URL: "https://rpc.example:8545/public",
    });
    expect(await anchors(published)).toMatchObject({
      rpcUrl: "https://rpc.example:8545/public",
    });
    expect(await connectSrc(published, "/me/m/m_x/history")).toBe(
      "'self' https://rpc.example:8545",
    );
    const none = await nodeWith("none", {
      PATRON_CHAIN: "embedded",
      PATRON_CHAIN_PUBLIC_RPC_URL: "none",
    });
    expect(await anchors(none)).toMatchObject({ enabled: true, rpcUrl: null });
    expect(await connectSrc(none, "/me")).toBe("'self'");
  });
});
