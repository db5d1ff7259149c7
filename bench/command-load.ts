/**
 * The load generator of the signed-command benchmark, in a worker thread (so that the clients'
 * work runs beside the server, not on its event loop). `clients` customers act at once, each
 * waiting for its answer before its next operation, over keep-alive sockets (lib.httpSender):
 *
 * - "join": `customer.join` with the customer's values beside the command (a name and an
 *   email, committed to by the payload's `attached`); each operation is a new key.
 * - "signin": portal sign-in, `POST /v1/portal/challenges` then a `session.open` command
 *   carrying the challenge, signed once the challenge arrives, to `POST /v1/portal/sessions`;
 *   one operation is both requests.
 * - "rotate": `key.rotate` to a fresh key whose `key.accept` it carries (two signatures, two
 *   sealed entries); the next rotation of that client is signed by the key it rotated to.
 *
 * Join and rotate commands are signed before the clock starts (a rotation chain does not
 * depend on the server's answers); a sign-in can only be signed once its challenge is known.
 */
import { randomBytes } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { attachmentCommitment, type JsonValue } from "@patron/ledger";
import { httpSender, now, summarize, type Throughput } from "./lib.js";
import { ClientKey, type KeyMaterial, type Target } from "./signing.js";

export interface CommandJob {
  url: string;
  target: Target;
  op: "join" | "signin" | "rotate";
  clients: number;
  opsPerClient: number;
  /** join: clients × opsPerClient keys, client c using c·opsPerClient …; otherwise one each. */
  keys: KeyMaterial[];
  /** join: where the names and emails of this run start (they must be unique on the node). */
  first?: number;
}

const job = workerData as CommandJob;
const { send, close } = httpSender(job.url, { "content-type": "application/json" }, job.clients);
const keys = job.keys.map(ClientKey.from);
const t = job.target;

function joinBody(key: ClientKey, n: number): string {
  const salt = randomBytes(16);
  const values = { name: `Bench Joiner ${n}`, email: `joiner${n}@bench.example` };
  const attached = attachmentCommitment(salt, values);
  const signed = key.sign(t, key.command(t, "customer.join", { attached }));
  return JSON.stringify({ ...signed, attached: { salt: salt.toString("base64url"), values } });
}

/** The rotation chain of one client: body j is signed by key j and accepts key j + 1. */
function rotations(first: ClientKey, count: number): string[] {
  const out: string[] = [];
  let current = first;
  for (let j = 0; j < count; j++) {
    const next = ClientKey.generate(current.kind);
    const accept = next.sign(t, next.command(t, "key.accept", { from: current.did }));
    const rotate = current.command(t, "key.rotate", { accept: accept as unknown as JsonValue });
    out.push(JSON.stringify(current.sign(t, rotate)));
    current = next;
  }
  return out;
}

const bodies: string[][] = Array.from({ length: job.clients }, (_, c) => {
  if (job.op === "join") {
    return Array.from({ length: job.opsPerClient }, (_, j) => {
      const i = c * job.opsPerClient + j;
      return joinBody(keys[i] as ClientKey, (job.first ?? 0) + i);
    });
  }
  if (job.op === "rotate") return rotations(keys[c] as ClientKey, job.opsPerClient);
  return [];
});

async function expect(path: string, body: string, status: number) {
  const r = await send("POST", path, body);
  if (r.status !== status)
    throw new Error(`${job.op}: POST ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return r.text;
}

async function signIn(key: ClientKey) {
  const c = await expect("/v1/portal/challenges", JSON.stringify({ merchant: t.merchant }), 201);
  const { challenge } = JSON.parse(c) as { challenge: string };
  const signed = key.sign(t, key.command(t, "session.open", { challenge }));
  await expect("/v1/portal/sessions", JSON.stringify(signed), 201);
}

// Everything is signed: tell the main thread, and start when it says so (it meters CPU from then).
parentPort?.postMessage("ready");
await new Promise((go) => parentPort?.once("message", go));
const latencies: number[] = [];
const started = now();
await Promise.all(
  Array.from({ length: job.clients }, async (_, c) => {
    for (let j = 0; j < job.opsPerClient; j++) {
      const t0 = now();
      if (job.op === "signin") await signIn(keys[c] as ClientKey);
      else await expect("/v1/commands", bodies[c]?.[j] as string, 201);
      latencies.push(now() - t0);
    }
  }),
);
const result: Throughput = summarize(latencies, (now() - started) / 1000);
close();
parentPort?.postMessage(result);
