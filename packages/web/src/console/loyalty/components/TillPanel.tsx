import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Pill, Spinner, type Tone } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { ConsoleApiError, call } from "../../api/client.js";
import { DateTime, useErrorText } from "../../layout/ui.js";
import { useLookupCode, useTillAction } from "../hooks/useOps.js";
import { formatMoney } from "../money.js";
import { Redemption, type Reward } from "../ops-api.js";

const TONES: Record<Redemption["status"], Tone> = {
  held: "info",
  captured: "ok",
  released: "neutral",
  expired: "warn",
};

/** Refusals the till explains in its own words; any other is shown as the node wrote it. */
const KNOWN_REFUSALS = [
  "hold_expired",
  "already_captured",
  "already_released",
  "not_found",
  "invalid_request",
] as const;

/** Why a redemption that is no longer held cannot be captured, by its status. */
const CLOSED = {
  captured: "already_captured",
  released: "already_released",
  expired: "hold_expired",
} as const;

const newKey = () => `console-till-${crypto.randomUUID()}`;

/**
 * The till: a one-time code typed (or read by a scanner that types it), what it stands for,
 * then capture (with the receipt number) or release. Refusals are explained in words.
 */
export function TillPanel(props: { rewards: Reward[]; pointName: string; canWrite: boolean }) {
  const { t, i18n } = useTranslation();
  const errorText = useErrorText();
  const lookup = useLookupCode();
  const act = useTillAction();
  const [code, setCode] = useState("");
  const [reference, setReference] = useState("");
  const [shown, setShown] = useState<Redemption>();
  const [done, setDone] = useState<"capture" | "release">();
  const [refusal, setRefusal] = useState<{ code: string; detail: string }>();
  const key = useRef(newKey());
  const codeInput = useRef<HTMLInputElement>(null);

  const refused = (err: unknown) => {
    const c = err instanceof ConsoleApiError ? err.code : "unknown";
    setRefusal({ code: c, detail: errorText(err).detail });
  };

  const find = async (e: React.FormEvent) => {
    e.preventDefault();
    setRefusal(undefined);
    setDone(undefined);
    setShown(undefined);
    const typed = code.trim();
    if (typed.length < 8) {
      setRefusal({ code: "too_short", detail: "" });
      codeInput.current?.focus();
      return;
    }
    try {
      const found = await lookup.mutateAsync(typed);
      setShown(found);
      key.current = newKey();
      // A used code still names its redemption: say why it cannot be captured.
      if (found.status !== "held") setRefusal({ code: CLOSED[found.status], detail: "" });
    } catch (err) {
      refused(err);
    }
  };

  const run = async (action: "capture" | "release") => {
    if (!shown) return;
    setRefusal(undefined);
    try {
      const r = await act.mutateAsync({
        action,
        id: shown.id,
        key: key.current,
        ...(action === "capture" && reference.trim() ? { reference: reference.trim() } : {}),
      });
      setShown(r);
      setDone(action);
      setCode("");
      setReference("");
      key.current = newKey();
    } catch (err) {
      refused(err);
      // What it stands for now (captured elsewhere, lapsed): read again.
      try {
        setShown(await call("GET", `/v1/redemptions/${encodeURIComponent(shown.id)}`, Redemption));
      } catch {
        // the code no longer names an open hold: keep what was shown
      }
    }
  };

  const reward = shown?.reward ? props.rewards.find((r) => r.id === shown.reward?.id) : undefined;
  const refusalText = refusal
    ? refusal.code === "too_short"
      ? t("loyalty.ops.till.refusals.too_short")
      : (KNOWN_REFUSALS as readonly string[]).includes(refusal.code)
        ? t(`loyalty.ops.till.refusals.${refusal.code}`)
        : t("loyalty.ops.till.refusals.other", { detail: refusal.detail })
    : undefined;

  return (
    <div className="till" data-testid="till">
      <form className="form inline-form" onSubmit={find} noValidate data-testid="till-lookup">
        <div className="form-field">
          <label className="label" htmlFor="till-code">
            {t("loyalty.ops.till.code")}
          </label>
          <input
            id="till-code"
            ref={codeInput}
            className="input mono till-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            autoCapitalize="characters"
            spellCheck={false}
            enterKeyHint="search"
            aria-describedby="till-code-hint"
            aria-invalid={refusal?.code === "too_short" ? true : undefined}
            data-testid="till-code"
          />
          <p className="hint field-hint" id="till-code-hint">
            {t("loyalty.ops.till.codeHint")}
          </p>
        </div>
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={lookup.isPending}
            data-testid="till-find"
          >
            {lookup.isPending ? <Spinner /> : null} {t("loyalty.ops.till.find")}
          </button>
        </div>
      </form>

      <div aria-live="polite">
        {refusalText ? (
          <p
            className="notice notice-bad"
            role="alert"
            data-testid="till-refusal"
            data-code={refusal?.code}
          >
            {refusalText}
          </p>
        ) : null}
        {done && shown ? (
          <p className="notice" role="status" data-testid="till-done">
            {done === "capture"
              ? t("loyalty.ops.till.captured", {
                  points: shown.points.toLocaleString(i18n.language),
                  name: pointNameFor(props.pointName, shown.points, i18n.language),
                  index: shown.closedEntry ?? "",
                })
              : t("loyalty.ops.till.released", {
                  points: shown.points.toLocaleString(i18n.language),
                  name: pointNameFor(props.pointName, shown.points, i18n.language),
                })}
          </p>
        ) : null}
      </div>

      {shown ? (
        <section className="till-hold" aria-labelledby="till-hold-title" data-testid="till-hold">
          <h3 id="till-hold-title">
            {shown.kind === "reward"
              ? t("loyalty.ops.till.reward", { name: reward?.name ?? shown.reward?.id ?? "" })
              : t("loyalty.ops.till.discount")}
          </h3>
          <dl className="till-facts">
            <dt>{t("loyalty.ops.till.points", { name: props.pointName })}</dt>
            <dd className="num" data-testid="till-points">
              {shown.points.toLocaleString(i18n.language)}
            </dd>
            <dt>{t("loyalty.ops.till.value")}</dt>
            <dd data-testid="till-value">
              {formatMoney(shown.value, shown.currency, i18n.language)}
            </dd>
            <dt>{t("loyalty.ops.till.status")}</dt>
            <dd data-testid="till-status" data-status={shown.status}>
              <Pill tone={TONES[shown.status]}>
                {t(`loyalty.ops.till.statuses.${shown.status}`)}
              </Pill>
            </dd>
            <dt>
              {shown.status === "held"
                ? t("loyalty.ops.till.expires")
                : t("loyalty.ops.till.closed")}
            </dt>
            <dd>
              <DateTime
                iso={
                  shown.status === "held" ? shown.expiresAt : (shown.closedAt ?? shown.expiresAt)
                }
              />
            </dd>
            <dt>{t("loyalty.ops.till.customer")}</dt>
            <dd className="mono">{shown.customerId}</dd>
            {shown.reference ? (
              <>
                <dt>{t("loyalty.ops.till.receipt")}</dt>
                <dd className="mono">{shown.reference}</dd>
              </>
            ) : null}
          </dl>
          {shown.status === "held" && props.canWrite ? (
            <form
              className="form"
              onSubmit={(e) => {
                e.preventDefault();
                run("capture");
              }}
              noValidate
            >
              <div className="form-field">
                <label className="label" htmlFor="till-reference">
                  {t("loyalty.ops.till.reference")}
                </label>
                <input
                  id="till-reference"
                  className="input mono"
                  value={reference}
                  onChange={(e) => setReference(e.target.value)}
                  autoComplete="off"
                  maxLength={100}
                  aria-describedby="till-reference-hint"
                  data-testid="till-reference"
                />
                <p className="hint field-hint" id="till-reference-hint">
                  {t("loyalty.ops.till.referenceHint")}
                </p>
              </div>
              <div className="form-actions">
                <button
                  type="submit"
                  className="btn btn-primary"
                  disabled={act.isPending}
                  data-testid="till-capture"
                >
                  {act.isPending ? <Spinner /> : null} {t("loyalty.ops.till.capture")}
                </button>
                <button
                  type="button"
                  className="btn btn-ghost"
                  disabled={act.isPending}
                  onClick={() => run("release")}
                  data-testid="till-release"
                >
                  {t("loyalty.ops.till.release")}
                </button>
              </div>
            </form>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
