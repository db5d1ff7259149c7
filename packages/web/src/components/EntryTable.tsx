import type { EntryView } from "../lib/api.js";
import { Link } from "../lib/router.js";
import { ChevronRight } from "./icons.js";
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
            <tr key={e.index} data-index={e.index}>
              <td data-label="Index">
                <Link href={`/entries/${e.index}`} className="index-link">
                  #{e.index}
                </Link>
              </td>
              <td data-label="Type">
                <TypeTag type={e.type} />
              </td>
              <td data-label="Actor" className="actor">
                <span title={e.actor}>{e.actor}</span>
              </td>
              <td data-label="Time" className="nowrap">
                <Time iso={e.time} />
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
          ))}
        </tbody>
      </table>
    </div>
  );
}
