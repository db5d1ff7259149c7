import { useTitle } from "../lib/hooks.js";
import { Link } from "../lib/router.js";

export function NotFoundPage() {
  useTitle("Page not found");
  return (
    <div className="page narrow">
      <div className="empty-page">
        <p className="eyebrow">404</p>
        <h1>There is no page here</h1>
        <p className="lead">
          The explorer has an overview, the list of entries, one page per entry and a receipt
          verifier.
        </p>
        <p className="actions">
          <Link href="/" className="btn btn-primary">
            Ledger overview
          </Link>
          <Link href="/entries" className="btn">
            All entries
          </Link>
        </p>
      </div>
    </div>
  );
}
