import { Link, useLocation } from "../lib/router.js";
import {
  dismissSignOutNotice,
  retrySession,
  type Session,
  signOut,
  useSession,
} from "../lib/session.js";
import { Alert, Key, LogOut, Refresh } from "./icons.js";
import { Spinner } from "./ui.js";

// Reading the ledger as a merchant: the header's sign-in link and, once signed in, a bar that
// says whom the explorer reads as, on every page.

const SIGN_IN_ID = "sign-in-link";

/** Where a sign-in started, to return there: a path of this site, never another origin. */
export function safeNext(next: string | null | undefined): string {
  return next && /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith("/sign-in") ? next : "/entries";
}

export const signInHref = (next: string) => `/sign-in?next=${encodeURIComponent(safeNext(next))}`;

export function SignInLink(props: { next: string; inline?: boolean }) {
  if (props.inline) return <Link href={signInHref(props.next)}>Sign in with an API key</Link>;
  return (
    <Link
      href={signInHref(props.next)}
      className="btn btn-ghost sign-in-link"
      id={SIGN_IN_ID}
      title="Sign in with an API key"
    >
      <Key size={14} /> <span className="sign-in-label">Sign in</span>
    </Link>
  );
}

/** In the top bar: the sign-in link while nobody is signed in. */
export function SessionControl() {
  const session = useSession();
  const loc = useLocation();
  if (session.state !== "anonymous" || loc.path === "/sign-in") return null;
  const query = loc.query.toString();
  const here = loc.path + (query ? `?${query}` : "");
  return <SignInLink next={here} />;
}

/** After signing out, focus goes to the way back in: the top bar's link, or the sign-in form. */
const focusSignIn = () =>
  window.requestAnimationFrame(() =>
    (
      document.getElementById(SIGN_IN_ID) ??
      document.querySelector<HTMLElement>('input[name="api-key"]')
    )?.focus(),
  );

export function signOutAndFocus() {
  signOut();
  focusSignIn();
}

/** Under the top bar: whom the explorer reads the ledger as, and a way out. */
export function SessionBar() {
  const session = useSession();
  return <SessionBarBody session={session} />;
}

function SessionBarBody({ session }: { session: Session }) {
  switch (session.state) {
    case "anonymous":
      return session.reason === "refused" ? (
        <div className="session-bar session-bar-warn" role="status">
          <div className="session-inner">
            <Alert size={16} />
            <p className="session-text">
              Signed out: the node no longer accepts the API key (it was revoked, or belongs to
              another node). Sealed entries are shown sealed.
            </p>
            <button type="button" className="btn btn-ghost" onClick={dismissSignOutNotice}>
              Dismiss
            </button>
          </div>
        </div>
      ) : null;
    case "checking":
      return (
        <div className="session-bar">
          <div className="session-inner">
            <Spinner label="Checking the API key…" />
          </div>
        </div>
      );
    case "unconfirmed":
      return (
        <div className="session-bar session-bar-warn">
          <div className="session-inner">
            <Alert size={16} />
            <p className="session-text">
              Reading with an API key, but the node could not say whose it is right now.
            </p>
            <span className="session-actions">
              <button type="button" className="btn btn-ghost" onClick={retrySession}>
                <Refresh size={14} /> Retry
              </button>
              <button type="button" className="btn" onClick={signOutAndFocus}>
                <LogOut size={14} /> Sign out
              </button>
            </span>
          </div>
        </div>
      );
    case "signed-in": {
      const { merchant, key } = session.me;
      return (
        <section className="session-bar" aria-label="Signed in" data-testid="session">
          <div className="session-inner">
            <Key size={16} />
            <p className="session-text">
              <span data-testid="viewing-as">
                Viewing as <strong>{merchant.name}</strong> ({key.role})
              </span>
              <span className="session-sub-sep" aria-hidden="true">
                {" · "}
              </span>
              <span className="session-sub">
                {merchant.name}'s sealed entries are shown whole; the key stays in this tab
              </span>
            </p>
            <button type="button" className="btn" onClick={signOutAndFocus}>
              <LogOut size={14} /> Sign out
            </button>
          </div>
        </section>
      );
    }
  }
}
