import { canonicalJson } from "@patron/ledger";
import { type CommandVerification, describeActorKey } from "../lib/verify.js";
import { TypeTag } from "./EntryTable.js";
import { ShieldCheck, ShieldX } from "./icons.js";
import { JsonView } from "./JsonView.js";
import { Card, Field, Fields, Hash, Pill, Time } from "./ui.js";

// A customer's signed command (ARCHITECTURE decision 5), as the entry keeps it: the command,
// byte for byte, and its Ed25519 signature or passkey assertion, verified in this browser.

export function SignedCommandCard({ command: c }: { command: CommandVerification }) {
  const { command } = c.signed;
  return (
    <Card
      title="Signed command"
      actions={
        c.ok ? (
          <Pill tone="ok" icon={<ShieldCheck size={12} />}>
            <span data-testid="command-verified">Signature verified here</span>
          </Pill>
        ) : (
          <Pill tone="bad" icon={<ShieldX size={12} />} title={c.reason}>
            <span data-testid="command-not-verified">Signature does not verify</span>
          </Pill>
        )
      }
    >
      <p className="hint hint-top command-intro">
        The customer signed this command with their own key; the entry keeps it as it was signed.
        {c.ok
          ? " This browser checked the signature over it with @patron/ledger."
          : ` It does not verify: ${c.reason ?? "refused"}.`}
      </p>
      <Fields>
        <Field label="Command">
          <TypeTag type={command.type} />
        </Field>
        <Field label="Signed by">
          <span className="stack">
            <span>{describeActorKey(command)}</span>
            <Hash value={command.actor} label="signer's did:key" keep={14} />
          </span>
        </Field>
        <Field label="Merchant">
          <code className="wrap">{command.merchant}</code>
        </Field>
        <Field label="Ledger">
          <code className="wrap">{command.ledger}</code>
        </Field>
        <Field label="Expires">
          <Time iso={command.expires} />
        </Field>
        <Field label="Nonce">
          <code className="wrap">{command.nonce}</code>
        </Field>
        {"webauthn" in c.signed ? (
          <Field label="Passkey">
            <span className="stack">
              <span>WebAuthn assertion (ES256)</span>
              {c.origin ? (
                <span>
                  made on <code className="wrap">{c.origin}</code>
                </span>
              ) : null}
            </span>
          </Field>
        ) : (
          <Field label="Signature">
            <Hash value={c.signed.signature} label="command signature" keep={10} />
          </Field>
        )}
      </Fields>
      <h3 className="subhead">Payload</h3>
      <JsonView text={canonicalJson(command.payload)} label="Command payload" />
    </Card>
  );
}
