import {
  CommandError,
  commandExpiry,
  parseSignedCommand,
  type SignedCommand,
  verifyCommand,
} from "@patron/ledger";
import { z } from "zod";
import type { CommandHandler } from "../domain.js";
import type { App } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses } from "../http/schemas.js";
import { MAX_COMMAND_LIFETIME_MS, type Sequencer } from "../ledger/sequencer.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import type { Bindings } from "./bindings.js";

export interface CommandRoutesDeps {
  sequencer: Sequencer;
  tenancy: Tenancy;
  bindings: Bindings;
  origin: string;
  handlers: ReadonlyMap<string, CommandHandler>;
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
        throw new ApiError(409, "nonce_reused", "this command's nonce was already used");
      }
      const checkBinding = async () => {
        const binding = await deps.bindings.get(command.merchant, command.actor);
        if (handler.createsBinding) return binding;
        if (!binding) {
          throw new ApiError(
            403,
            "unknown_actor",
            `${command.actor} is not bound to an account at ${command.merchant}`,
          );
        }
        if (binding.status !== "active") {
          throw new ApiError(403, `key_${binding.status}`, `this key was ${binding.status}`);
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
      const binding = await checkBinding();
      const draft = await handler.handle({ command, signed, binding });
      const committed = await deps.sequencer.execute({
        ...draft,
        // What a customer signed is recorded as the customer's act, whatever the handler says.
        entries: draft.entries.map((e) => ({ ...e, actor: command.actor })),
        signed,
        // In order with the rest of the batch: a binding revoked just before counts.
        check: async (ctx) => {
          await checkBinding();
          await draft.check?.(ctx);
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
