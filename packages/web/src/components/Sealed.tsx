import type { Session } from "../lib/session.js";
import { Lock, Unlock } from "./icons.js";
import { SignInLink } from "./Session.js";
import { Pill } from "./ui.js";

// Sealed entries (ARCHITECTURE decision 6): the log is public, a merchant's business in it is
// not. Anyone sees a sealed entry's index and leaf hash, enough to verify the tree; its parties
// see it whole.

/** The lock badge: on a sealed entry, whether its content is withheld or shown to a party. */
export function SealedBadge(props: { withheld: boolean }) {
  return (
    <Pill
      tone={props.withheld ? "info" : "neutral"}
      icon={props.withheld ? <Lock size={12} /> : <Unlock size={12} />}
      title={
        props.withheld
          ? "Sealed: its content is shown only to its parties"
          : "Sealed: others see only its index and leaf hash"
      }
    >
      <span data-testid="sealed-badge">Sealed</span>
    </Pill>
  );
}

/** Why a sealed entry's content is not on the page, and who may read it. */
export function SealedNotice(props: { session: Session; next: string }) {
  const { session } = props;
  return (
    <section className="notice notice-sealed" aria-labelledby="sealed-why" data-testid="sealed-why">
      <Lock size={18} />
      <div>
        <h2 id="sealed-why" className="notice-title">
          Why the content is hidden
        </h2>
        <div className="notice-body">
          <p>
            This entry is sealed. It records a merchant's business, so only its parties may read it:
            the merchant's staff and API keys, the customers it names, and the auditors the merchant
            grants access. Everyone else sees its index and leaf hash, which is enough to prove that
            the entry is in the ledger, unchanged, as this page did. The leaf hash is salted with
            128 random bits, so the content cannot be guessed from it.
          </p>
          {session.state === "anonymous" ? (
            <p>
              Are you one of its parties? <SignInLink next={props.next} inline /> to see it whole.
            </p>
          ) : session.state === "signed-in" ? (
            <p>
              {session.me.merchant.name} is not one of its parties, so the node keeps it sealed for
              this key too.
            </p>
          ) : null}
        </div>
      </div>
    </section>
  );
}
