import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandChallenge, encodeBase64Url, encodeDidKey } from "@patron/ledger";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { domains, entryAuditorOf, type PatronNode, startNode } from "../src/node.js";
import { pglite } from "../src/test-support/backends.js";
import {
  CHROMIUM_ARGS as ARGS,
  CHROMIUM,
  haveBrowser,
  requireBrowser,
} from "../src/test-support/chromium.js";
import { testDomain } from "../src/test-support/test-domain.js";
import { nonce } from "./command-signing.js";

// A customer's passkey signs a command in a real browser: Chromium's virtual authenticator
// (CDP WebAuthn domain) holds the P-256 key, the page asks it for an assertion whose challenge
// is the SHA-256 of the command's signing bytes, and the node verifies it (decision 5).

describe.runIf(!haveBrowser && requireBrowser)("passkey-signed commands", () => {
  it("needs chromium", () => {
    throw new Error(
      `PATRON_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`,
    );
  });
});

describe.runIf(haveBrowser)("passkey-signed commands in Chromium", () => {
  const withTest = [...domains, testDomain];
  let tmp: string;
  let cleanup: () => void;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  let merchant: string;
  let origin: string;
  let credential: { id: string; did: string };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "patron-passkey-"));
    const c = pglite.config({ host: "127.0.0.1" });
    cleanup = c.cleanup;
    node = await startNode(c.config, { listen: true, domains: withTest });
    origin = node.identity.origin;
    merchant = (
      await (
        await fetch(`${node.url}/v1/merchants/me`, {
          headers: { authorization: `Bearer ${node.ownerKey}` },
        })
      ).json()
    ).id;
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Passkeys need a secure context and a domain as relying party: localhost, not 127.0.0.1.
    await page.goto(`${node.url.replace("127.0.0.1", "localhost")}/health`);
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const made = await page.evaluate(async () => {
      const b64 = (b: ArrayBuffer) =>
        btoa(String.fromCharCode(...new Uint8Array(b)))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, "");
      const cred = (await navigator.credentials.create({
        publicKey: {
          challenge: crypto.getRandomValues(new Uint8Array(32)),
          rp: { id: "localhost", name: "Patron test merchant" },
          user: {
            id: crypto.getRandomValues(new Uint8Array(16)),
            name: "alice",
            displayName: "Alice",
          },
          pubKeyCredParams: [{ type: "public-key", alg: -7 }],
          authenticatorSelection: { userVerification: "required", residentKey: "preferred" },
        },
      })) as PublicKeyCredential;
      const res = cred.response as AuthenticatorAttestationResponse;
      return { id: b64(cred.rawId), spki: b64(res.getPublicKey() as ArrayBuffer) };
    });
    const jwk = createPublicKey({
      key: Buffer.from(made.spki, "base64url"),
      format: "der",
      type: "spki",
    }).export({ format: "jwk" });
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x as string, "base64url"),
      Buffer.from(jwk.y as string, "base64url"),
    ]);
    credential = { id: made.id, did: encodeDidKey({ type: "P-256", publicKey: point }) };
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    cleanup?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const command = (type: string, payload = {}) => ({
    v: 1 as const,
    type,
    ledger: origin,
    actor: credential.did,
    merchant,
    nonce: nonce(),
    expires: new Date(Date.now() + 600_000).toISOString(),
    payload,
  });

  /** Asks the authenticator in the page to sign the command. */
  const assert = (cmd: ReturnType<typeof command>) =>
    page.evaluate(
      async ({ challenge, id }) => {
        const bytes = (s: string) =>
          Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
        const b64 = (b: ArrayBuffer) =>
          btoa(String.fromCharCode(...new Uint8Array(b)))
            .replace(/\+/g, "-")
            .replace(/\//g, "_")
            .replace(/=+$/, "");
        const got = (await navigator.credentials.get({
          publicKey: {
            challenge: bytes(challenge),
            rpId: "localhost",
            allowCredentials: [{ type: "public-key", id: bytes(id) }],
            userVerification: "required",
          },
        })) as PublicKeyCredential;
        const r = got.response as AuthenticatorAssertionResponse;
        return {
          authenticatorData: b64(r.authenticatorData),
          clientDataJSON: b64(r.clientDataJSON),
          signature: b64(r.signature),
        };
      },
      { challenge: encodeBase64Url(commandChallenge(cmd)), id: credential.id },
    );

  const post = (body: unknown) =>
    fetch(`${node.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("binds a passkey and accepts the commands it signs", async () => {
    expect(credential.did).toMatch(/^did:key:zDn/);
    const bind = command("test.bind");
    const r = await post({ command: bind, webauthn: await assert(bind) });
    expect(r.status).toBe(201);
    const note = command("test.note", { via: "passkey" });
    const webauthn = await assert(note);
    const n = await post({ command: note, webauthn });
    expect(n.status).toBe(201);
    const [entry] = (await n.json()).entries;
    const stored = await (
      await fetch(`${node.url}/v1/ledger/entries/${entry.index}`, {
        headers: { authorization: `Bearer ${node.ownerKey}` },
      })
    ).json();
    // The entry keeps the assertion as the authenticator made it.
    expect(stored.entry.signed).toEqual({ command: note, webauthn });
    const report = await auditLedger(node.db, {
      origin,
      verifierKey: node.identity.verifierKey,
      entries: () => entryAuditorOf(withTest, origin),
    });
    expect(report.problems).toEqual([]);
  });

  it("refuses an assertion for another command, a replay and a tampered one", async () => {
    const a = command("test.note");
    const b = command("test.note");
    const forA = await assert(a);
    const other = await post({ command: b, webauthn: forA });
    expect(other.status).toBe(401);
    expect((await other.json()).error.code).toBe("invalid_signature");
    expect((await post({ command: a, webauthn: forA })).status).toBe(201);
    const replay = await post({ command: a, webauthn: forA });
    expect((await replay.json()).error.code).toBe("nonce_reused");
    const c = command("test.note");
    const forC = await assert(c);
    const data = Buffer.from(forC.authenticatorData, "base64url");
    data[33] = (data[33] as number) ^ 0x04; // clear the user-verified flag
    const tampered = await post({
      command: c,
      webauthn: { ...forC, authenticatorData: data.toString("base64url") },
    });
    expect(tampered.status).toBe(401);
  });
});
