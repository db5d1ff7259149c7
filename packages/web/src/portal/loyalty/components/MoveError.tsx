import { useTranslation } from "react-i18next";
import { Alert } from "../../../components/icons.js";
import { PortalApiError } from "../../api/client.js";
import { ErrorMessage } from "../../layout/ui.js";

/** The refusals of transfers and redemptions the pages explain in their own words. */
export const MOVE_REFUSALS = [
  "insufficient_points",
  "transfers_disabled",
  "transfer_below_minimum",
  "transfer_above_maximum",
  "daily_transfer_limit",
  "daily_transfer_count",
  "self_transfer",
  "recipient_not_found",
  "out_of_stock",
  "reward_inactive",
  "limit_reached",
  "already_captured",
  "already_released",
  "hold_expired",
  "discount_worthless",
  "not_found",
] as const;

/**
 * Why a transfer or redemption was refused: what the node's code means, in the reader's
 * language, with the node's own message and code beside it. Other failures (a signature's
 * bars, the network) as every portal page shows them.
 */
export function MoveError(props: { error: unknown; testId: string }) {
  const { t } = useTranslation();
  const err = props.error;
  const known =
    err instanceof PortalApiError ? MOVE_REFUSALS.find((c) => c === err.code) : undefined;
  if (!known || !(err instanceof PortalApiError)) {
    return <ErrorMessage error={err} testId={props.testId} />;
  }
  return (
    <div className="notice notice-bad" role="alert" data-testid={props.testId} data-code={err.code}>
      <Alert size={18} />
      <div>
        <strong>{t(`loyalty.refusals.${known}`)}</strong>
        <p>
          {err.message} <code className="muted">{err.code}</code>
        </p>
      </div>
    </div>
  );
}
