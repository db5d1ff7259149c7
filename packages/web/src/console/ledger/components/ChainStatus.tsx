import { useTranslation } from "react-i18next";
import { Link2, ShieldX } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { checkChain } from "../chain.js";
import { useVerifiedEntries } from "../hooks/useVerifiedEntry.js";

/**
 * Whether the timeline's entries (newest first) form the customer's chain without a gap: each
 * verified entry links to the one listed after it, and, once every page is loaded, the oldest
 * links to none.
 */
export function ChainStatus(props: { customerId: string; indices: number[]; whole: boolean }) {
  const { t } = useTranslation();
  const results = useVerifiedEntries(props.indices);
  if (results.some((r) => r.isPending)) return <Spinner label={t("chain.checking")} />;
  const entries = results.map((r, i) => ({
    index: props.indices[i] as number,
    entry: r.data?.verified ? r.data.entry : undefined,
  }));
  const check = checkChain(props.customerId, entries, props.whole);
  if (check.state === "broken") {
    return (
      <span className="pill pill-bad" data-testid="chain-status">
        <ShieldX size={13} /> {t("chain.broken", { index: check.at })}
      </span>
    );
  }
  return (
    <span
      className={check.state === "complete" ? "pill pill-ok" : "pill pill-info"}
      data-testid="chain-status"
    >
      <Link2 size={13} />
      {check.state === "complete"
        ? t("chain.complete", { count: check.entries })
        : t("chain.partial", { count: check.entries })}
    </span>
  );
}
