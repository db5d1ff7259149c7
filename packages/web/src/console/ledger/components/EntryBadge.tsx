import { useTranslation } from "react-i18next";
import { ShieldCheck, ShieldX } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { useVerifiedEntry } from "../hooks/useVerifiedEntry.js";

/** Subjects of a decoded entry: does it name this customer (decision 7)? */
function namesCustomer(entry: unknown, customerId: string): boolean {
  const subjects = (entry as { subjects?: unknown } | undefined)?.subjects;
  return (
    Array.isArray(subjects) &&
    subjects.some(
      (s) =>
        typeof s === "object" &&
        s !== null &&
        (s as { customer?: unknown }).customer === customerId,
    )
  );
}

/**
 * Entry `index` of the customer's chain, verified in this browser: its bytes hash to a leaf the
 * signed checkpoint includes, it is of the type the node listed, and it names the customer.
 * Links to the explorer's page of the entry, which shows every check.
 */
export function EntryBadge(props: { index: number; type: string; customerId: string }) {
  const { t } = useTranslation();
  const v = useVerifiedEntry(props.index);
  const href = `/entries/${props.index}`;
  if (v.isPending) {
    return (
      <span className="entry-badge">
        <Spinner label={t("proof.checking")} />
      </span>
    );
  }
  const entry = v.data?.entry;
  const reason = v.isError
    ? v.error instanceof Error
      ? v.error.message
      : String(v.error)
    : !v.data.verified
      ? (v.data.checks.find((c) => !c.ok)?.detail ?? "")
      : entry?.type !== props.type
        ? t("proof.wrongType", { type: entry?.type ?? "?" })
        : !namesCustomer(entry, props.customerId)
          ? t("proof.notNamed")
          : undefined;
  if (reason === undefined) {
    return (
      <a
        className="pill pill-ok entry-badge"
        href={href}
        title={t("proof.entryVerifiedTitle", { index: props.index })}
        data-testid="entry-verified"
      >
        <ShieldCheck size={13} /> {t("proof.entry", { index: props.index })}
      </a>
    );
  }
  return (
    <a className="pill pill-bad entry-badge" href={href} title={reason} data-testid="entry-failed">
      <ShieldX size={13} /> {t("proof.entryFailed", { index: props.index })}
    </a>
  );
}
