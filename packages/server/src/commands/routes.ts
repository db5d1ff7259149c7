import {
  attachmentCommitment,
  type Command,
  canonicalJson,
  decodeEntry,
  type JsonValue,
  type SignedCommand,
} from "@patron/ledger";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import type { ActorBinding, CommandHandler, EntryTypeSpec } from "../domain.js";
import type { App } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses } from "../http/schemas.js";
import type { CommandDraft, Sequencer } from "../ledger/sequencer.js";
import { findNonce, listEntries } from "../ledger/store.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import type { Bindings } from "./bindings.js";
import type { SignatureChecker } from "./verify.js";

export interface CommandRoutesDeps {
  db: Queryable;
  sequencer: Sequencer;
  tenancy: Tenancy;
  bindings: Bindings;
  origin: string;
  handlers: ReadonlyMap<string, CommandHandler>;
  /** Entry types by name: the ones that bind a key are staged from their own spec. */
  entryTypes: ReadonlyMap<string, EntryTypeSpec>;
  /** Checks a signed command's form, signature, ledger and lifetime. */
  signatures: SignatureChecker;
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
  attached: z
    .strictObject({
      salt: z.string().regex(/^[A-Za-z0-9_-]{22,88}$/, "16 to 64 bytes, base64url"),
      values: z.record(z.string(), z.unknown()),
    })
    .optional()
    .describe(
      "personal values that travel beside the command (decision 5): the payload's `attached` is base64url(SHA-256(salt ‖ JCS(values)))",
    ),
});

const Committed = z.object({
  entries: z.array(z.object({ index: z.number(), leafHash: z.string(), type: z.string() })),
  time: z.string(),
});

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
      const { attached: beside, ...proof } = req.body;
      const signed = deps.signatures.check(proof);
      const command = signed.command;
      const now = deps.sequencer.now;
      const attached = attachedValues(command, beside);
      const handler = deps.handlers.get(command.type);
      if (!handler) {
        // The one signed type that is no command here: say where it goes.
        throw new ApiError(
          400,
          "unknown_command",
          command.type === "session.open"
            ? "session.open is the portal's sign-in: send it to POST /v1/portal/sessions"
            : `no command type "${command.type}"`,
        );
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
      const execute = (draft: CommandDraft) => {
        // What a customer signed is recorded as the customer's act, whatever the handler says.
        const entries = draft.entries.map((e) => ({ ...e, actor: command.actor }));
        return deps.sequencer.execute({
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
      };
      const input = { command, signed, binding, attached };
      const committed = handler.run
        ? await handler.run(input, execute)
        : await execute(await handler.handle(input));
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

/**
 * The values beside a command, checked against the commitment its payload carries: both or
 * neither, and equal. What the signer committed to is exactly what the handler gets.
 */
function attachedValues(
  command: Command,
  beside: { salt: string; values: Record<string, unknown> } | undefined,
): Record<string, JsonValue> | undefined {
  const p = command.payload;
  const committed =
    p !== null && typeof p === "object" && !Array.isArray(p) ? p.attached : undefined;
  if (committed === undefined && beside === undefined) return undefined;
  if (beside === undefined) {
    throw new ApiError(
      400,
      "attachment_missing",
      "the payload commits to attached values (payload.attached); send them as `attached`",
    );
  }
  if (typeof committed !== "string") {
    throw new ApiError(
      400,
      "attachment_uncommitted",
      "values sent as `attached` need their commitment in the signed payload (payload.attached)",
    );
  }
  const values = beside.values as Record<string, JsonValue>;
  let computed: string;
  try {
    computed = attachmentCommitment(Buffer.from(beside.salt, "base64url"), values);
  } catch (err) {
    throw new ApiError(400, "attachment_invalid", `attached: ${(err as Error).message}`);
  }
  if (computed !== committed) {
    throw new ApiError(
      400,
      "attachment_mismatch",
      "the attached values are not the ones the payload commits to",
    );
  }
  return values;
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
