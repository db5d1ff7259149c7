/**
 * What one write costs the HTTP layer alone, without the ledger: the same request
 * (`POST {"digest": …}` with a bearer key, 201 with `{index, leafHash, time}`) answered by
 *
 * - a bare node:http server (read the body, JSON.parse, JSON.stringify the answer);
 * - a bare Fastify route (its router, its JSON parser, no schema);
 * - Patron's own HTTP shell (`createApp`: the bearer-key hook, the JSON body parser, zod
 *   validation and serialization, the role check) with the real attestation routes, in front of
 *   a stand-in sequencer that answers at once.
 *
 * Against the whole node's rows, the difference is the ledger's share of a request.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { attestationRoutes } from "../packages/server/src/attestations/routes.js";
import type { Queryable } from "../packages/server/src/db/database.js";
import { createApp } from "../packages/server/src/http/app.js";
import type {
  CommittedEntry,
  EntryDraft,
  Sequencer,
} from "../packages/server/src/ledger/sequencer.js";

export interface HttpTarget {
  what: string;
  url: string;
  path: string;
  close(): Promise<void>;
}

const ANSWER = {
  index: 0,
  leafHash: "00".repeat(32),
  time: "2026-12-02T00:00:00.000Z",
};

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function bareNode(): Promise<HttpTarget> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { digest: string };
      const text = JSON.stringify({ ...ANSWER, leafHash: body.digest });
      res.writeHead(201, { "content-type": "application/json", "content-length": text.length });
      res.end(text);
    });
  });
  const url = await listening(server);
  return {
    what: "bare node:http server",
    url,
    path: "/",
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A Fastify app with its POST /v1/attestations, listening on a free local port. */
async function fastifyTarget(
  app: { listen(o: { port: number; host: string }): Promise<string>; close(): Promise<unknown> },
  what: string,
): Promise<HttpTarget> {
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return { what, url, path: "/v1/attestations", close: async () => void (await app.close()) };
}

async function bareFastify(): Promise<HttpTarget> {
  const app = Fastify();
  app.post("/v1/attestations", async (req, reply) => {
    reply.code(201);
    return { ...ANSWER, leafHash: (req.body as { digest: string }).digest };
  });
  return fastifyTarget(app, "bare Fastify route");
}

/** Patron's HTTP shell and attestation routes; the sequencer answers without writing. */
async function patronShell(token: string): Promise<HttpTarget> {
  const principal = { merchantId: "m_bench", keyId: "k_bench", role: "owner" as const };
  const app = await createApp({
    version: "bench",
    authenticate: async (t) => (t === token ? principal : undefined),
    maxConnectionsPerClient: 0,
  });
  const leafHash = new Uint8Array(32);
  const standIn = {
    async submit(draft: EntryDraft): Promise<CommittedEntry> {
      return {
        index: 0n,
        entry: {
          v: 1,
          type: draft.type,
          actor: draft.actor,
          time: ANSWER.time,
          payload: draft.payload as never,
        },
        data: new Uint8Array(0),
        leafHash,
      };
    },
  } as unknown as Sequencer;
  attestationRoutes(app, { db: {} as Queryable, sequencer: standIn });
  return fastifyTarget(app, "Patron HTTP shell (auth, zod), no ledger");
}

/** The three servers, each to be loaded in turn and closed. */
export const httpTargets = (token: string) => [bareNode, bareFastify, () => patronShell(token)];
