import { type FormEvent, useId, useRef, useState } from "react";
import { Lock } from "../components/icons.js";
import { safeNext, signOutAndFocus } from "../components/Session.js";
import { Card, Spinner } from "../components/ui.js";
import { useTitle } from "../lib/hooks.js";
import { Link, navigate } from "../lib/router.js";
import { SignInError, signIn, useSession } from "../lib/session.js";

// A merchant's API key, for reading its sealed entries. It goes to sessionStorage (this tab
// only) and to this node, as a Bearer token on ledger reads; nowhere else.

export function SignInPage(props: { next?: string }) {
  useTitle("Sign in with an API key");
  const next = safeNext(props.next);
  const session = useSession();
  return (
    <div className="page narrow">
      <div className="page-head">
        <div>
          <p className="eyebrow">Sealed entries</p>
          <h1>Sign in with an API key</h1>
          <p className="lead">
            A sealed entry is a merchant's business: everyone can verify that it is in the ledger,
            but only its parties read it. With one of a merchant's API keys, the explorer shows that
            merchant's sealed entries whole; everyone else's stay sealed.
          </p>
        </div>
      </div>
      {session.state === "signed-in" ? (
        <Card title="Signed in">
          <p>
            Viewing as <strong>{session.me.merchant.name}</strong> ({session.me.key.role}).
          </p>
          <p className="actions">
            <Link href={next} className="btn btn-primary">
              Continue
            </Link>
            <button type="button" className="btn" onClick={signOutAndFocus}>
              Sign out
            </button>
          </p>
        </Card>
      ) : (
        <SignInForm next={next} />
      )}
      <Card title="Where the key goes">
        <ul className="plain-list">
          <li>
            It is kept in this tab's session storage only: closing the tab forgets it, and other
            tabs never see it. It is never written to local storage or a cookie.
          </li>
          <li>
            It is sent only to this node, as <code>Authorization: Bearer</code>, when the explorer
            reads ledger entries and receipts. The node decides which sealed entries the key may
            read: those that name its merchant.
          </li>
          <li>
            Any role works (owner, admin, staff or auditor): each reads the same sealed entries. An
            auditor key, which can read but not write, is the safest to paste into a browser.
          </li>
          <li>
            Everything is still verified in this browser: a sealed entry shown whole must hash to
            the leaf that the signed checkpoint includes.
          </li>
        </ul>
      </Card>
    </div>
  );
}

function SignInForm(props: { next: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await signIn(value);
      setValue("");
      navigate(props.next, { replace: true });
    } catch (err) {
      setError(err instanceof SignInError ? err.message : String(err));
      setBusy(false);
      input.current?.focus();
    }
  };
  const hint = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <Card title="API key">
      <form className="sign-in" onSubmit={submit} aria-label="Sign in with an API key" noValidate>
        <label className="label" htmlFor={`${id}-key`}>
          Merchant API key
        </label>
        <div className="sign-in-row">
          <input
            ref={input}
            id={`${id}-key`}
            name="api-key"
            className="input mono"
            type="password"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="off"
            autoCapitalize="none"
            autoCorrect="off"
            spellCheck={false}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${errorId} ${hint}` : hint}
            data-testid="api-key-input"
          />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner /> : <Lock size={14} />} Sign in
          </button>
        </div>
        {error ? (
          <p className="field-error" id={errorId} role="alert" data-testid="sign-in-error">
            {error}
          </p>
        ) : null}
        <p className="hint" id={hint}>
          The key the node showed once when it was created (it starts with <code>pat_</code>).
        </p>
      </form>
    </Card>
  );
}
