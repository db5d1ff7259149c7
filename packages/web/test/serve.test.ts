import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../server/src/http/app.js";
import { registerWeb } from "../../server/src/http/web.js";

// registerWeb on a bare app with one API route, over a stand-in dist: what the node serves at
// which path, without building the explorer or starting a ledger.

async function appWith(root: string): Promise<App> {
  const app = await createApp({ authenticate: async () => undefined, version: "test" });
  app.get("/v1/ping", async () => ({ pong: true }));
  await registerWeb(app, { root });
  await app.ready();
  return app;
}

const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

describe("registerWeb", () => {
  let dir: string;
  let app: App;
  let bare: App;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "patron-web-"));
    mkdirSync(join(dir, "dist", "assets"), { recursive: true });
    writeFileSync(join(dir, "dist", "index.html"), "<!doctype html><title>explorer</title>");
    writeFileSync(join(dir, "dist", "assets", "app-1234.js"), "console.log(1)");
    writeFileSync(join(dir, "dist", "favicon.svg"), "<svg/>");
    writeFileSync(join(dir, "secret.txt"), "outside the root");
    app = await appWith(join(dir, "dist"));
    bare = await appWith(join(dir, "missing"));
  });

  afterAll(async () => {
    await app.close();
    await bare.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves index.html at / and for page paths a browser asks for", async () => {
    for (const url of ["/", "/entries", "/entries/12", "/verify?x=1"]) {
      const res = await app.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      expect(res.body).toContain("<title>explorer</title>");
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.headers["cache-control"]).toBe("no-cache");
    }
    expect((await app.inject({ url: "/" })).statusCode).toBe(200);
  });

  it("serves built files, hashed assets as immutable", async () => {
    const js = await app.inject({ url: "/assets/app-1234.js" });
    expect(js.statusCode).toBe(200);
    expect(js.body).toBe("console.log(1)");
    expect(js.headers["cache-control"]).toContain("immutable");
    const icon = await app.inject({ url: "/favicon.svg" });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers["cache-control"]).toBe("no-cache");
  });

  it("keeps the API's JSON 404 for API paths, missing files and non-HTML clients", async () => {
    expect((await app.inject({ url: "/v1/ping" })).json()).toEqual({ pong: true });
    for (const [url, headers] of [
      ["/v1/nope", html],
      ["/v1", html],
      ["/health/x", html],
      ["/docs-x", html],
      ["/assets/missing.js", {}],
      ["/entries/12", { accept: "application/json" }],
      ["/%2e%2e/secret.txt", {}],
      ["/..%2fsecret.txt", {}],
    ] as const) {
      const res = await app.inject({ url, headers });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toBe("not_found");
    }
    const post = await app.inject({ method: "POST", url: "/entries", headers: html });
    expect(post.statusCode).toBe(404);
  });

  it("says how to build the explorer when its dist is missing", async () => {
    const res = await bare.inject({ url: "/entries", headers: html });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain("npm run build");
    expect((await bare.inject({ url: "/v1/nope", headers: html })).statusCode).toBe(404);
  });
});
