import {
  CommandError,
  canonicalJson,
  commandExpiry,
  decodeEntry,
  parseSignedCommand,
  type SignedCommand,
  verifyCommand,
} from "@patron/ledger";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import type { ActorBinding, CommandHandler, EntryTypeSpec } from "../domain.js";
import type { App } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses } from "../http/schemas.js";
import { MAX_COMMAND_LIFETIME_MS, type Sequencer } from "../ledger/sequencer.js";
import { findNonce, listEntries } from "../ledger/store.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import type { Bindings } from "./bindings.js";

export interface CommandRoutesDeps {
  db: Queryable;
  sequencer: Sequencer;
  tenancy: Tenancy;
  bindings: Bindings;
  origin: string;
  handlers: ReadonlyMap<string, CommandHandler>;
  /** Entry types by name: the ones that bind a key are staged from their own spec. */
  entryTypes: ReadonlyMap<string, EntryTypeSpec>;
  /** Origins a passkey assertion may come from (the portal's, the node's own). */
  webauthnOrigins: () => readonly string[];
  /** The relying party id passkeys are registered under; default: the assertion origin's host. */
  rpId?: string;
}

const Body = z.strictObject({
  command: z.unknown().describe("the command object, exactly as signed (decision 5)"),
  signature: z.string().optional().describe("Ed25519 signature, base64url, for an Ed25519 actor"),
  webauthn: z
    .strictObject({
      authenticatorData: z.string(),
      clientDataJSON: z.string(),
      signature: z.string(),
    })
    .optional()
    .describe("a passkey assertion (base64url fields), for a P-256 actor"),
});

const Committed = z.object({
  entries: z.array(z.object({ index: z.number(), leafHash: z.string(), type: z.string() })),
  time: z.string(),
});

const fromCommandError = (err: unknown): never => {
  if (err instanceof CommandError) {
    const status = err.code === "bad_signature" ? 401 : 400;
    const code =
      err.code === "bad_signature"
        ? "invalid_signature"
        : err.code === "unsupported_key"
          ? "unsupported_key"
          : "malformed_command";
    throw new ApiError(status, code, err.message);
  }
  throw err;
};

/**
 * `POST /v1/commands`: what customers (and merchants' own signers) sign. The signature is the
 * authentication, so it needs no API key or session. Every check runs before anything is
 * queued, and again in the sequencer where order matters (expiry, nonce, binding).
 */
export function commandRoutes(app: App, deps: CommandRoutesDeps) {
  app.post(
    "/v1/commands",
    {
      schema: {
        tags: ["commands"],
        summary: "Submit a signed command (no API key: the signature authenticates)",
        description:
          "The command is `{v, type, ledger, actor, merchant, nonce, expires, payload}`, signed by the actor's did:key over `patron-command/v1\\n` followed by its RFC 8785 JSON (Ed25519), or by a passkey whose challenge is the SHA-256 of those bytes. Refusals write nothing and carry their own code.",
        body: Body,
        response: { 201: Committed, ...errorResponses },
      },
    },
    async (req, reply) => {
      let signed: SignedCommand;
      try {
        signed = parseSignedCommand(req.body);
      } catch (err) {
        fromCommandError(err);
        throw err;
      }
      const command = signed.command;
      const passkeyOrigin = "webauthn" in signed ? clientOrigin(signed) : undefined;
      try {
        // Passkeys sign money and consent: the authenticator must have verified the user.
        const rpId = deps.rpId ?? passkeyOrigin;
        verifyCommand(signed, {
          origins: deps.webauthnOrigins(),
          requireUserVerification: true,
          ...(rpId ? { rpId } : {}),
        });
      } catch (err) {
        fromCommandError(err);
      }
      if (command.ledger !== deps.origin) {
        throw new ApiError(
          400,
          "wrong_ledger",
          `the command is for ledger "${command.ledger}", this is "${deps.origin}"`,
        );
      }
      const now = deps.sequencer.now;
      const expires = commandExpiry(command);
      if (expires <= now) throw new ApiError(400, "command_expired", "the command has expired");
      if (expires > now + MAX_COMMAND_LIFETIME_MS) {
        throw new ApiError(400, "expires_too_far", "a command may expire at most 24 h ahead");
      }
      const handler = deps.handlers.get(command.type);
      if (!handler) {
        throw new ApiError(400, "unknown_command", `no command type "${command.type}"`);
      }
      if (!(await deps.tenancy.merchant(command.merchant))) {
        throw new ApiError(404, "unknown_merchant", `merchant ${command.merchant} not found`);
      }
      if (deps.sequencer.nonceSpent(command.actor, command.nonce)) {
        // A replay is refused; the same signed command again (a retry after a lost answer) is
        // told, in the details, which entries it wrote.
        const written = await committedCommand(deps.db, signed);
        throw new ApiError(
          409,
          "nonce_reused",
          written
            ? "this command was already committed: details.entries are the entries it wrote"
            : "this command's nonce was already used",
          written,
        );
      }
      /** The actor's binding, refused unless it may sign this type. */
      const checkBinding = async (staged: boolean): Promise<ActorBinding | undefined> => {
        const binding = await deps.bindings.get(command.merchant, command.actor, staged);
        if (binding && binding.status !== "active") {
          // A rotated or revoked key cannot bind itself again either.
          throw new ApiError(403, `key_${binding.status}`, `this key was ${binding.status}`);
        }
        if (handler.createsBinding) return binding;
        if (!binding) {
          throw new ApiError(
            403,
            "unknown_actor",
            `${command.actor} is not bound to an account at ${command.merchant}`,
          );
        }
        if (binding.kind !== handler.signer) {
          throw new ApiError(
            403,
            "type_not_allowed",
            `a ${binding.kind} key may not sign "${command.type}" (signed by a ${handler.signer} key)`,
          );
        }
        return binding;
      };
      const binding = await checkBinding(false);
      const draft = await handler.handle({ command, signed, binding });
      // What a customer signed is recorded as the customer's act, whatever the handler says.
      const entries = draft.entries.map((e) => ({ ...e, actor: command.actor }));
      const committed = await deps.sequencer.execute({
        ...draft,
        entries,
        signed,
        // In order with the rest of the batch: a binding changed just before counts.
        check: async (ctx) => {
          const now = await checkBinding(true);
          if (now?.party !== binding?.party) {
            throw new ApiError(
              409,
              "binding_changed",
              "the key's account changed while the command was queued; sign it again",
            );
          }
          await draft.check?.(ctx);
          for (const e of entries) {
            const spec = deps.entryTypes.get(e.type)?.binding;
            if (!spec) continue;
            if (typeof e.payload === "function") {
              throw new Error(`${e.type} binds a key, so its payload cannot be derived`);
            }
            const b = spec({
              type: e.type,
              actor: e.actor,
              payload: e.payload,
              subjects: (e.parties ?? []).map((p) => ({ ...p, prev: null })),
            });
            if (b) deps.bindings.stage(b);
          }
        },
      });
      reply.code(201);
      return {
        entries: committed.map((c) => ({
          index: Number(c.index),
          leafHash: Buffer.from(c.leafHash).toString("hex"),
          type: c.entry.type,
        })),
        time: committed[0]?.entry.time ?? new Date(now).toISOString(),
      };
    },
  );
}

/** The entries a byte-identical signed command wrote, when its nonce row still names them. */
async function committedCommand(db: Queryable, signed: SignedCommand) {
  const first = await findNonce(db, signed.command.actor, signed.command.nonce);
  if (first === undefined) return undefined;
  const json = canonicalJson(signed);
  const out: { index: number; leafHash: string; type: string }[] = [];
  let time = "";
  // A command's entries are contiguous and each carries the command: read until one does not.
  for (let from = first; ; from += 100n) {
    const rows = await listEntries(db, from, from + 100n);
    for (const r of rows) {
      const e = decodeEntry(r.data);
      if (!e.signed || canonicalJson(e.signed) !== json)
        return out.length ? { entries: out, time } : undefined;
      time ||= e.time;
      out.push({
        index: Number(r.index),
        leafHash: Buffer.from(r.leafHash).toString("hex"),
        type: e.type,
      });
    }
    if (rows.length < 100) return out.length ? { entries: out, time } : undefined;
  }
}

/** The host a passkey assertion says it came from: its relying party id is checked against it. */
function clientOrigin(signed: SignedCommand): string | undefined {
  if (!("webauthn" in signed)) return undefined;
  try {
    const json = JSON.parse(Buffer.from(signed.webauthn.clientDataJSON, "base64url").toString());
    return typeof json.origin === "string" ? new URL(json.origin).hostname : undefined;
  } catch {
    return undefined;
  }
}
