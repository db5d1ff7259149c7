/**
 * What the signature benchmarks time, one verification per call: `verifyCommand` of
 * @patron/ledger (pure TypeScript, @noble/curves) for Ed25519 and passkey (ES256) commands,
 * the same steps on node:crypto (OpenSSL), and the bare primitives. Shared by the main thread
 * and bench/verify-worker.ts, so that every thread runs the same code on the same commands.
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  canonicalJson,
  commandChallenge,
  commandSigningBytes,
  decodeBase58,
  decodeDidKey,
  ed25519Verify,
  parseSignedCommand,
  type SignedCommand,
  verifyCommand,
} from "@patron/ledger";

/** Signed commands to verify, as they cross into a worker thread (plain JSON). */
export interface Dataset {
  ed25519: SignedCommand[];
  passkey: SignedCommand[];
  /** The origin the passkey ceremonies ran on; its host is the relying party id. */
  webOrigin: string;
}

export type Kernel = (i: number) => void;

// SubjectPublicKeyInfo headers: an Ed25519 key, and a compressed P-256 point (did:key's form).
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");
const P256_SPKI = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");

const PREFIX = Buffer.from("patron-command/v1\n");
const b64 = (s: string) => Buffer.from(s, "base64url");
const check = (ok: boolean) => {
  if (!ok) throw new Error("a valid signature did not verify");
};

/** The verification steps of `verifyCommand` for a passkey, with node:crypto for the curve. */
function passkeyOnNode(signed: SignedCommand, webOrigin: string, rpIdHash: Buffer) {
  const parsed = parseSignedCommand(signed);
  if (!("webauthn" in parsed)) throw new Error("not a passkey command");
  const key = decodeDidKey(parsed.command.actor);
  const challenge = Buffer.from(commandChallenge(parsed.command)).toString("base64url");
  const authData = b64(parsed.webauthn.authenticatorData);
  const clientDataBytes = b64(parsed.webauthn.clientDataJSON);
  const clientData = JSON.parse(clientDataBytes.toString("utf8"));
  if (clientData.type !== "webauthn.get" || clientData.challenge !== challenge)
    throw new Error("wrong clientData");
  if (clientData.origin !== webOrigin || clientData.crossOrigin === true)
    throw new Error("wrong origin");
  if (!authData.subarray(0, 32).equals(rpIdHash) || ((authData[32] as number) & 0x05) !== 0x05)
    throw new Error("wrong authenticatorData");
  const publicKey = createPublicKey({
    key: Buffer.concat([P256_SPKI, key.publicKey]),
    format: "der",
    type: "spki",
  });
  const signedData = Buffer.concat([
    authData,
    createHash("sha256").update(clientDataBytes).digest(),
  ]);
  check(
    verify(
      "sha256",
      signedData,
      { key: publicKey, dsaEncoding: "der" },
      b64(parsed.webauthn.signature),
    ),
  );
}

/**
 * The kernels by name. Each takes an operation number and verifies command `i mod n`; a
 * refusal throws, so a run that completes verified every signature.
 */
export function kernels(d: Dataset): Record<string, Kernel> {
  const n = d.ed25519.length;
  const m = d.passkey.length;
  const ed = (i: number) => d.ed25519[i % n] as SignedCommand;
  const pk = (i: number) => d.passkey[i % m] as SignedCommand;
  const rpId = new URL(d.webOrigin).hostname;
  const rpIdHash = createHash("sha256").update(rpId).digest();
  const opts = { origins: [d.webOrigin], rpId, requireUserVerification: true };

  // The primitives alone: message, signature and key decoded beforehand.
  const edRaw = d.ed25519.map((s) => {
    if (!("signature" in s)) throw new Error("not an Ed25519 command");
    const publicKey = decodeDidKey(s.command.actor).publicKey;
    return {
      message: commandSigningBytes(s.command),
      signature: b64(s.signature),
      publicKey,
      keyObject: createPublicKey({
        key: Buffer.concat([ED25519_SPKI, publicKey]),
        format: "der",
        type: "spki",
      }) as KeyObject,
    };
  });
  const esRaw = d.passkey.map((s) => {
    if (!("webauthn" in s)) throw new Error("not a passkey command");
    const clientData = b64(s.webauthn.clientDataJSON);
    return {
      signedData: Buffer.concat([
        b64(s.webauthn.authenticatorData),
        createHash("sha256").update(clientData).digest(),
      ]),
      signature: b64(s.webauthn.signature),
      keyObject: createPublicKey({
        key: Buffer.concat([P256_SPKI, decodeDidKey(s.command.actor).publicKey]),
        format: "der",
        type: "spki",
      }),
    };
  });
  const rawEd = (i: number) => edRaw[i % n] as (typeof edRaw)[number];
  const rawEs = (i: number) => esRaw[i % m] as (typeof esRaw)[number];

  return {
    "ed25519.verifyCommand": (i) => {
      verifyCommand(ed(i));
    },
    "ed25519.node-steps": (i) => {
      const parsed = parseSignedCommand(ed(i));
      if (!("signature" in parsed)) throw new Error("not an Ed25519 command");
      const key = decodeDidKey(parsed.command.actor);
      const publicKey = createPublicKey({
        key: Buffer.concat([ED25519_SPKI, key.publicKey]),
        format: "der",
        type: "spki",
      });
      check(verify(null, commandSigningBytes(parsed.command), publicKey, b64(parsed.signature)));
    },
    // The least a verifier must do: JCS, the key out of the did:key (base58, no curve check:
    // OpenSSL decodes the point itself), one node:crypto verification. Shape checks left out.
    "ed25519.lean": (i) => {
      const s = ed(i);
      if (!("signature" in s)) throw new Error("not an Ed25519 command");
      const key = decodeBase58(s.command.actor.slice("did:key:z".length)).subarray(2);
      const publicKey = createPublicKey({
        key: Buffer.concat([ED25519_SPKI, key]),
        format: "der",
        type: "spki",
      });
      const message = Buffer.concat([PREFIX, Buffer.from(canonicalJson(s.command))]);
      check(verify(null, message, publicKey, b64(s.signature)));
    },
    "ed25519.did": (i) => {
      decodeDidKey(ed(i).command.actor);
    },
    "ed25519.noble": (i) => {
      const r = rawEd(i);
      check(ed25519Verify(r.signature, r.message, r.publicKey));
    },
    "ed25519.node": (i) => {
      const r = rawEd(i);
      check(verify(null, r.message, r.keyObject, r.signature));
    },
    "ed25519.bytes": (i) => {
      commandSigningBytes(ed(i).command);
    },
    "passkey.verifyCommand": (i) => {
      verifyCommand(pk(i), opts);
    },
    "passkey.node-steps": (i) => passkeyOnNode(pk(i), d.webOrigin, rpIdHash),
    "passkey.node": (i) => {
      const r = rawEs(i);
      check(verify("sha256", r.signedData, { key: r.keyObject, dsaEncoding: "der" }, r.signature));
    },
  };
}

export interface KernelRun {
  ops: number;
  seconds: number;
  /** CPU time of the whole process over the run, in seconds (every thread). */
  cpuSeconds: number;
  /** Per-operation times, ms (absent for the threaded runs). */
  latenciesMs?: number[];
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs `k` for about `seconds`, one call at a time; with `timeEach`, times every call. */
export function runKernel(k: Kernel, seconds: number, timeEach: boolean): KernelRun {
  const latencies: number[] = [];
  const cpu0 = cpuSeconds();
  const started = performance.now();
  const until = started + seconds * 1000;
  let ops = 0;
  for (;;) {
    // Check the clock every 64 calls when not timing each, so that it costs nothing.
    if (timeEach) {
      const t0 = performance.now();
      k(ops++);
      const t1 = performance.now();
      latencies.push(t1 - t0);
      if (t1 >= until) break;
    } else {
      for (let j = 0; j < 64; j++) k(ops++);
      if (performance.now() >= until) break;
    }
  }
  return {
    ops,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds() - cpu0,
    ...(timeEach ? { latenciesMs: latencies } : {}),
  };
}
