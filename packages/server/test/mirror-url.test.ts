import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mirrorCommand } from "../src/mirror/cli.js";
import { normaliseSourceUrl, runMirror } from "../src/mirror/mirror.js";
import { type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import { captured } from "./mirror-helpers.js";

describe("normaliseSourceUrl", () => {
  it("gives one form to URLs that name the same node", () => {
    for (const u of [
      "http://node.example:8080",
      "http://node.example:8080/",
      "http://node.example:8080//",
      "HTTP://Node.Example:8080/",
    ]) {
      expect(normaliseSourceUrl(u)).toBe("http://node.example:8080");
    }
    expect(normaliseSourceUrl("https://example.org/patron/")).toBe("https://example.org/patron");
    expect(normaliseSourceUrl("https://example.org:443/patron")).toBe("https://example.org/patron");
  });
});

describe("patron mirror and the source URL", () => {
  let node: PatronNode;
  let cleanup: () => void;
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "patron-mirror-url-"));
    dirs.push(d);
    return d;
  };
  const stateOf = (dir: string) =>
    JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { source: string };

  beforeAll(async () => {
    const c = pglite.config();
    cleanup = c.cleanup;
    node = await startNode(c.config, { schema: c.schema, listen: true });
  });
  afterAll(async () => {
    await node?.close();
    cleanup?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("treats <url>/ and <url> as the same source", async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    await runMirror({ url: `${node.url}/`, dir, log });
    expect(stateOf(dir).source).toBe(node.url);
    await runMirror({ url: node.url, dir, log });
    await runMirror({ url: `${node.url}//`, dir, log });
    const cmd = await captured(() => mirrorCommand([`${node.url}/`, "--dir", dir]));
    expect(cmd.value).toBe(0);
    expect([...lines, cmd.err].join("\n")).not.toContain("this mirror was made from");
  });

  it("reads a source stored with a trailing slash as the same source", async () => {
    const dir = tempDir();
    await runMirror({ url: node.url, dir });
    // As a mirror made before URLs were normalised stored it.
    const state = stateOf(dir);
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({ ...state, source: `${node.url}/` }, null, 2),
    );
    const lines: string[] = [];
    await runMirror({ url: node.url, dir, log: (l) => lines.push(l) });
    expect(lines.join("\n")).not.toContain("this mirror was made from");
  });

  it("still notes a change to a different source", async () => {
    const dir = tempDir();
    await runMirror({ url: node.url, dir });
    const state = stateOf(dir);
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({ ...state, source: "http://old-host.example:8080/" }, null, 2),
    );
    const lines: string[] = [];
    await runMirror({ url: `${node.url}/`, dir, log: (l) => lines.push(l) });
    expect(lines).toContainEqual(
      `note: this mirror was made from http://old-host.example:8080/, now reading ${node.identity.origin} from ${node.url}`,
    );
  });
});
