import type { Subject } from "@patron/ledger";
import { Link } from "../lib/router.js";
import { formatCount } from "./ui.js";

// `subjects` (ARCHITECTURE decision 7): each customer and merchant an entry concerns, with the
// index of that party's previous entry, so every party's entries form a chain inside the log.

/** The parties of an entry and, for each, a link to its previous entry in that party's chain. */
export function EntryChain(props: { subjects: readonly Subject[] }) {
  return (
    <ul className="chain-list" data-testid="subjects">
      {props.subjects.map((s) => {
        const customer = "customer" in s;
        const id = customer ? s.customer : s.merchant;
        return (
          <li key={id}>
            <span className="chain-party">
              <span className="chain-kind">{customer ? "Customer" : "Merchant"}</span>
              <code className="wrap">{id}</code>
            </span>
            <span className="chain-prev">
              {s.prev === null ? (
                <span className="muted">its first entry</span>
              ) : (
                <>
                  previous:{" "}
                  <Link
                    href={`/entries/${s.prev}`}
                    aria-label={`${customer ? "Customer" : "Merchant"} ${id}'s previous entry, #${s.prev}`}
                  >
                    #{formatCount(s.prev)}
                  </Link>
                </>
              )}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
