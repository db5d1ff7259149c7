import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ShieldCheck, ShieldX } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { type ProfileValues, profileMismatches } from "./history.js";
import { useHistoryCheck } from "./hooks.js";

/**
 * One line under the profile: whether the values shown match the newest versions the ledger's
 * commitments speak for, checked with the history (every value's commitment recomputed from its
 * salt, every entry proven in the signed checkpoint).
 */
export function ProfileCheck(props: { merchant: string; profile: ProfileValues }) {
  const { t } = useTranslation();
  const check = useHistoryCheck(props.merchant);
  const verdict = check.data?.verdict;
  const committed = useMemo(
    () => (verdict?.ok ? verdict.entries.flatMap((e) => e.fields) : []),
    [verdict],
  );
  const history = (
    <Link to={`/m/${props.merchant}/history`} data-testid="profile-check-history">
      {t("history.profile.see")}
    </Link>
  );
  if (check.isPending || check.isFetching) {
    return (
      <p className="hint profile-check" data-testid="profile-check" data-state="checking">
        <Spinner /> {t("history.profile.checking")}
      </p>
    );
  }
  if (!verdict?.ok) {
    return (
      <p
        className="profile-check check-bad"
        role="alert"
        data-testid="profile-check"
        data-state="failed"
      >
        <ShieldX size={16} /> {t("history.profile.failed")} {history}
      </p>
    );
  }
  const wrong = profileMismatches(props.profile, committed);
  if (wrong.length > 0) {
    const fields = wrong.map((f) => t(`profile.fields.${f}`, { defaultValue: f })).join(", ");
    return (
      <p
        className="profile-check check-bad"
        role="alert"
        data-testid="profile-check"
        data-state="mismatch"
      >
        <ShieldX size={16} /> {t("history.profile.mismatch", { fields })} {history}
      </p>
    );
  }
  return (
    <p className="hint profile-check check-ok" data-testid="profile-check" data-state="ok">
      <ShieldCheck size={16} />{" "}
      {t("history.profile.ok", { size: verdict.head.size.toLocaleString() })} {history}
    </p>
  );
}
