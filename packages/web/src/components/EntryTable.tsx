import { type EntryView, isWithheld } from "../lib/api.js";
import { Link } from "../lib/router.js";
import { ChevronRight } from "./icons.js";
import { SealedBadge } from "./Sealed.js";
import { Hash, Time } from "./ui.js";

/** The domain before the first dot names the tag's colour: merchant.created → merchant. */
export function TypeTag(props: { type: string }) {
  const domain = props.type.split(".")[0] ?? "";
  const known = ["merchant", "apikey", "attestation", "customer", "loyalty", "consent"];
  return (
    <span className={`tag tag-${known.includes(domain) ? domain : "other"}`}>{props.type}</span>
  );
}

/** Newest first, as the caller orders them. */
export function EntryTable(props: { entries: EntryView[]; caption: string }) {
  return (
    <div className="table-wrap">
      <table className="table entries-table">
        <caption className="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Index</th>
            <th scope="col">Type</th>
            <th scope="col">Actor</th>
            <th scope="col">Time</th>
            <th scope="col">Leaf hash</th>
            <th scope="col">
              <span className="sr-only">Open</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((e) => (
            <EntryRow key={e.index} entry={e} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

const Hidden = () => (
  <>
    <span aria-hidden="true">—</span>
    <span className="sr-only">sealed</span>
  </>
);

/** A sealed entry of someone else's shows its index and leaf hash only, as the node sends it. */
function EntryRow({ entry: e }: { entry: EntryView }) {
  const withheld = isWithheld(e);
  return (
    <tr data-index={e.index} data-sealed={withheld ? "withheld" : e.sealed ? "whole" : undefined}>
      <td data-label="Index">
        <Link href={`/entries/${e.index}`} className="index-link">
          #{e.index}
        </Link>
      </td>
      <td data-label="Type">
        {withheld ? (
          <SealedBadge withheld />
        ) : (
          <span className="type-cell">
            <TypeTag type={e.type} />
            {e.sealed ? <SealedBadge withheld={false} /> : null}
          </span>
        )}
      </td>
      <td data-label="Actor" className={withheld ? "muted" : "actor"}>
        {withheld ? <Hidden /> : <span title={e.actor}>{e.actor}</span>}
      </td>
      <td data-label="Time" className={withheld ? "muted" : "nowrap"}>
        {withheld ? <Hidden /> : <Time iso={e.time} />}
      </td>
      <td data-label="Leaf hash">
        <Hash value={e.leafHash} label="leaf hash" keep={6} />
      </td>
      <td className="row-open">
        <Link href={`/entries/${e.index}`} aria-label={`Open entry ${e.index}`}>
          <ChevronRight />
        </Link>
      </td>
    </tr>
  );
}
