import type { Command, Entry, JsonValue, SignedCommand } from "@patron/ledger";
import type { Channels } from "./channels/index.js";
import type { Bindings } from "./commands/bindings.js";
import type { SignatureChecker } from "./commands/verify.js";
import type { Database } from "./db/database.js";
import type { App } from "./http/app.js";
import type { DomainAuditor } from "./ledger/audit-entries.js";
import type { Clock } from "./ledger/clock.js";
import type { ProofService } from "./ledger/proofs.js";
import type {
  CommandDraft,
  CommittedEntry,
  Party,
  Projector,
  Sequencer,
} from "./ledger/sequencer.js";
import type { DataUse } from "./privacy/data-use.js";
import type { Tenancy } from "./tenancy/tenancy.js";
import type { Vault } from "./vault/vault.js";

/**
 * A domain is one module that node.ts lists (ARCHITECTURE, Layout): its entry types, their
 * projections, the signed command types it handles and its routes. Adding a capability touches
 * its own folder and one line of node.ts.
 */
export interface Domain {
  name: string;
  entryTypes?: EntryTypeSpec[];
  /** Projections of its entries, written in the batch's transaction; `audit` rebuilds them. */
  projectors?: Projector[];
  /** Its invariants over the whole log, checked by `audit` (a fresh auditor per run). */
  audit?(): DomainAuditor;
  /** The running part, built once the ledger is open. */
  start?(ctx: DomainContext): DomainRuntime | Promise<DomainRuntime>;
}

export interface DomainRuntime {
  /** The signed command types it handles at `POST /v1/commands`. */
  commands?: CommandHandler[];
  routes?(app: App): void;
  /** Starts its background work once the node serves (sweeps on the clock). */
  start?(): void;
  /** Stops it, before the ledger closes. */
  stop?(): Promise<void>;
}

export interface DomainContext {
  db: Database;
  sequencer: Sequencer;
  tenancy: Tenancy;
  clock: Clock;
  /** The log's origin line: what a signed command's `ledger` must be. */
  origin: string;
  /** Checks a signed command's form, signature, ledger and lifetime (sign-in, nested commands). */
  signatures: SignatureChecker;
  /** Which signing keys act for whom: binding commands stage theirs here in their check. */
  bindings: Bindings;
  /** The data-subject export (Art. 15/20): each domain adds what it holds about a customer. */
  exports: SubjectExports;
  /** The log's checkpoint verifier key (a C2SP note key). */
  verifierKey: string;
  /** Inclusion and consistency proofs of the log. */
  proofs: ProofService;
  /** Personal data at rest (decision 4). */
  vault: Vault;
  /** The country of phone numbers written without +. */
  defaultCountry?: string;
  /** Purposes and access records: every route that reveals personal data goes through it (decision 11). */
  dataUse: DataUse;
  /** Outgoing mail and SMS (the local outbox without a transport). */
  channels?: Channels;
  /** The node's public address, for links in messages; "" makes them relative. */
  publicUrl?: () => string;
}

/** A section of a customer's export: what one domain holds about these records of a merchant. */
export type ExportSection = (merchantId: string, records: readonly string[]) => Promise<JsonValue>;

/** Where domains add their sections to the data-subject export (identity/portal.ts makes it). */
export class SubjectExports {
  readonly sections = new Map<string, ExportSection>();

  add(name: string, collect: ExportSection): void {
    if (this.sections.has(name)) throw new Error(`two export sections are named ${name}`);
    this.sections.set(name, collect);
  }
}

export interface EntryTypeSpec {
  type: string;
  /** Sealed entries are shown whole only to their parties (decision 6); "optional": by request. */
  sealing: "sealed" | "public" | "optional";
  /** The parties an entry of this type concerns: `audit` checks each is in its `subjects`. */
  parties(entry: Entry): Party[];
  /**
   * The entry binds its actor (a did:key) to a party at a merchant (join, claim), or ends the
   * binding. The one source of bindings: the sequencer stages it when a signed command writes
   * the entry, and the bindings projection writes it. It reads only these facts of the entry.
   */
  binding?(entry: BindingFacts): ActorBinding | undefined;
}

/** What a binding is read from: the entry, or a draft of it before sequencing. */
export type BindingFacts = Pick<Entry, "type" | "actor" | "payload" | "subjects">;

/** Who may sign a command type: a customer's key, or a merchant's own signing key. */
export type SignerKind = "customer" | "merchant";

export interface ActorBinding {
  merchant: string;
  actor: string;
  /** The customer (c_…) or merchant (m_…) the key acts for. */
  party: string;
  kind: SignerKind;
  status: "active" | "rotated" | "revoked";
}

/** What a handler gets: a command whose signature, origin, expiry and nonce are checked. */
export interface CommandInput {
  command: Command;
  signed: SignedCommand;
  /** The actor's binding, when it has one (checked against the handler's signer kind). */
  binding: ActorBinding | undefined;
  /** The personal values beside the command, already checked against `payload.attached`. */
  attached: Record<string, JsonValue> | undefined;
}

interface CommandHandlerBase {
  /** The command type, imperative: `customer.join`, `consent.grant`. */
  type: string;
  signer: SignerKind;
  /** Types that create the actor's binding (join, claim) need none beforehand. */
  createsBinding?: boolean;
}

/**
 * A signed command type. `handle` turns the command into a draft the route runs; `run` is for
 * a handler that must run it itself (inside a per-customer lock, say): it calls `execute`,
 * which adds the signature and the route's checks in the sequencer's order.
 */
export type CommandHandler = CommandHandlerBase &
  (
    | { handle(input: CommandInput): CommandDraft | Promise<CommandDraft>; run?: never }
    | {
        run(
          input: CommandInput,
          execute: (draft: CommandDraft) => Promise<CommittedEntry[]>,
        ): Promise<CommittedEntry[]>;
        handle?: never;
      }
  );

/** The merchant an entry's payload names as `merchantId`, for types that carry one. */
export function merchantOf(entry: Entry): Party[] {
  const p = entry.payload;
  const id =
    p && typeof p === "object" && !Array.isArray(p) && typeof p.merchantId === "string"
      ? p.merchantId
      : undefined;
  return id ? [{ merchant: id }] : [];
}
