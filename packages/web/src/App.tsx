import { LedgerError } from "@patron/ledger";
import { Alert, ShieldCheck } from "./components/icons.js";
import { SessionBar, SessionControl } from "./components/Session.js";
import { formatCount, Spinner } from "./components/ui.js";
import { api } from "./lib/api.js";
import { useHead } from "./lib/head.js";
import { useAsync } from "./lib/hooks.js";
import { Link, match, type Route, useLocation } from "./lib/router.js";
import { EntriesPage } from "./pages/Entries.js";
import { EntryPage } from "./pages/Entry.js";
import { HomePage } from "./pages/Home.js";
import { NotFoundPage } from "./pages/NotFound.js";
import { SignInPage } from "./pages/SignIn.js";
import { VerifyPage } from "./pages/Verify.js";

export function App() {
  const loc = useLocation();
  const route = match(loc);
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header route={route} />
      <main id="main" className="main">
        <Page route={route} />
      </main>
      <Footer />
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "home":
      return <HomePage />;
    case "entries":
      return <EntriesPage before={route.before} />;
    case "entry":
      return <EntryPage key={route.index} index={route.index} />;
    case "verify":
      return <VerifyPage />;
    case "sign-in":
      return <SignInPage next={route.next} />;
    default:
      return <NotFoundPage />;
  }
}

const NAV = [
  { href: "/", label: "Overview", pages: ["home"] },
  { href: "/entries", label: "Entries", pages: ["entries", "entry"] },
  { href: "/verify", label: "Verify a receipt", pages: ["verify"] },
];

function Header({ route }: { route: Route }) {
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link href="/" className="brand">
          <img src="/favicon.svg" alt="" width="28" height="28" />
          <span className="brand-name">Patron</span>{" "}
          <span className="brand-sub">Ledger explorer</span>
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((n) => (
            <Link
              key={n.href}
              href={n.href}
              className={n.pages.includes(route.page) ? "nav-link active" : "nav-link"}
              aria-current={n.pages.includes(route.page) ? "page" : undefined}
            >
              {n.label}
            </Link>
          ))}
        </nav>
        <HeadStatus />
        <SessionControl />
      </div>
      <SessionBar />
    </header>
  );
}

/** Always visible: whether the ledger the explorer shows is signed by the key it claims. */
function HeadStatus() {
  const head = useHead();
  if (head.state === "loading") {
    return (
      <span className="head-status">
        <Spinner label="Checking" />
      </span>
    );
  }
  if (head.state === "error" && head.error instanceof LedgerError) {
    return (
      <span className="head-status head-bad" title={head.error.message}>
        <Alert size={15} /> Checkpoint not verified
      </span>
    );
  }
  if (!head.data) {
    return (
      <span className="head-status head-bad" title="The node cannot be reached">
        <Alert size={15} /> Offline
      </span>
    );
  }
  return (
    <span
      className="head-status head-ok"
      title={`Latest checkpoint signed by ${head.data.keyName}+${head.data.keyId}, verified in this browser`}
    >
      <ShieldCheck size={15} />
      <span>
        {formatCount(head.data.size)} <span className="head-status-sub">entries · verified</span>
      </span>
    </span>
  );
}

function Footer() {
  const health = useAsync(() => api.health(), []);
  return (
    <footer className="footer">
      <div className="footer-inner">
        <p>
          Checkpoints, proofs and receipts on these pages are verified in your browser with{" "}
          <code>@patron/ledger</code>. The node serves the data; it is not trusted to vouch for it.
        </p>
        <p className="footer-links">
          {health.data ? (
            <span>
              Patron {health.data.version} · {health.data.origin}
            </span>
          ) : null}
          <a href="/console">Merchant console</a>
          <a href="/docs">API reference</a>
          <a href="/v1/ledger/key">Verifier key</a>
          <a href="/v1/ledger/checkpoint">Latest checkpoint</a>
        </p>
      </div>
    </footer>
  );
}
