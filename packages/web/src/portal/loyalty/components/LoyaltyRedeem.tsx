import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { Card, Pill, type Tone } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { useAccount } from "../../account/hooks.js";
import type { Account } from "../../keys/store.js";
import { useQrImage } from "../../layout/qr.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { SignCancelled } from "../../signing/SigningProvider.js";
import { formatMoney } from "../describe.js";
import { usePoints } from "../hooks.js";
import { useHold, useRedemptions, useRelease, useRewards } from "../moves.js";
import { discountProblem, minimumDiscount, timeLeft, usedOf, worth } from "../moves-form.js";
import type { Points, Redemption, Reward } from "../schemas.js";
import { MoveError } from "./MoveError.js";

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

const STATUS_TONE: Record<Redemption["status"], Tone> = {
  held: "info",
  captured: "ok",
  released: "neutral",
  expired: "warn",
};

/**
 * Spending points: the codes open at the till, the catalogue, a checkout discount of N points,
 * and every redemption with where it stands.
 */
export function LoyaltyRedeem() {
  const merchant = useParams().merchant ?? "";
  const points = usePoints(merchant);
  const account = useAccount(merchant);
  const redemptions = useRedemptions(merchant);
  const rewards = useRewards(merchant);
  const [fresh, setFresh] = useState<number>();
  // A hold captured or released at the till moves the balance: read it again when one closes.
  const open = redemptions.data?.redemptions.filter((r) => r.status === "held").length;
  const { refetch } = points;
  useEffect(() => {
    if (open !== undefined) refetch();
  }, [open, refetch]);
  if (points.isPending) return <LoadingState />;
  if (points.isError) return <ErrorMessage error={points.error} retry={() => points.refetch()} />;
  const list = redemptions.data?.redemptions ?? [];
  return (
    <>
      <OpenCodes
        points={points.data}
        account={account.data}
        held={list.filter((r) => r.status === "held")}
        fresh={fresh}
        rewards={rewards.data?.rewards ?? []}
      />
      <Catalogue
        merchant={merchant}
        points={points.data}
        account={account.data}
        redemptions={list}
        onHeld={setFresh}
      />
      <Discount points={points.data} account={account.data} onHeld={setFresh} />
      <RedemptionList
        merchant={merchant}
        points={points.data}
        list={list}
        loading={redemptions.isPending}
        error={redemptions.error}
        retry={() => redemptions.refetch()}
      />
    </>
  );
}

function Balance(props: { points: Points }) {
  const { t, i18n } = useTranslation();
  const p = props.points;
  return (
    <dl className="loyalty-figures">
      <div className="loyalty-figure">
        <dt>{t("loyalty.overview.balance")}</dt>
        <dd data-testid="redeem-balance">
          <span className="loyalty-number">{p.balance.toLocaleString()}</span>{" "}
          {pointNameFor(p.pointName, p.balance, i18n.language)}
        </dd>
      </div>
      <div className="loyalty-figure">
        <dt>{t("loyalty.redeem.held")}</dt>
        <dd data-testid="redeem-held">
          <span className="loyalty-number">{p.held.toLocaleString()}</span>{" "}
          {pointNameFor(p.pointName, p.held, i18n.language)}
        </dd>
      </div>
    </dl>
  );
}

function OpenCodes(props: {
  points: Points;
  account: Account | null | undefined;
  held: Redemption[];
  fresh: number | undefined;
  rewards: Reward[];
}) {
  const { t } = useTranslation();
  return (
    <Card title={t("loyalty.redeem.title")}>
      <Balance points={props.points} />
      {props.held.length === 0 ? (
        <p className="hint">{t("loyalty.redeem.lead")}</p>
      ) : (
        <ul className="loyalty-list loyalty-codes">
          {props.held.map((r) => (
            <HeldCode
              key={r.id}
              r={r}
              points={props.points}
              account={props.account}
              fresh={r.heldEntry === props.fresh}
              rewardName={props.rewards.find((w) => w.id === r.reward?.id)?.name}
            />
          ))}
        </ul>
      )}
    </Card>
  );
}

function HeldCode(props: {
  r: Redemption;
  points: Points;
  account: Account | null | undefined;
  fresh: boolean;
  /** The reward's name while it is in the catalogue. */
  rewardName: string | undefined;
}) {
  const { t, i18n } = useTranslation();
  const { r, points: p } = props;
  const qr = useQrImage(r.qr);
  const now = useNow(1000);
  const left = timeLeft(r.expiresAt, now);
  const release = useRelease(props.account);
  const head = useRef<HTMLHeadingElement>(null);
  const headId = useId();
  useEffect(() => {
    if (props.fresh) head.current?.focus();
  }, [props.fresh]);
  const failure =
    release.error && !(release.error instanceof SignCancelled) ? release.error : undefined;
  return (
    <li className="loyalty-code" data-testid="redeem-code-card" data-id={r.id}>
      <h3 id={headId} ref={head} tabIndex={-1} className="loyalty-subhead">
        {r.kind === "discount"
          ? t("loyalty.redeem.discountOf", {
              points: r.points.toLocaleString(),
              pointName: p.pointName,
              value: formatMoney(r.value, r.currency, i18n.language),
            })
          : t("loyalty.redeem.rewardHeld", {
              name: props.rewardName ?? t("loyalty.redeem.aReward"),
              points: r.points.toLocaleString(),
              pointName: p.pointName,
            })}
      </h3>
      <p className="hint">{t("loyalty.redeem.showAtTill")}</p>
      <div className="loyalty-code-body">
        {qr ? (
          <img
            className="invite-qr loyalty-qr"
            src={qr}
            alt={t("loyalty.redeem.qrAlt", { code: r.code ?? "" })}
            width={192}
            height={192}
            data-testid="redeem-qr"
            data-payload={r.qr ?? undefined}
          />
        ) : null}
        <div className="stack">
          <p className="loyalty-code-text">
            <span className="sr-only">{t("loyalty.redeem.codeLabel")} </span>
            <code data-testid="redeem-code">{r.code}</code>
          </p>
          <p role="timer" data-testid="redeem-countdown">
            {left ? t("loyalty.redeem.timeLeft", { left }) : t("loyalty.redeem.lapsing")}{" "}
            <span className="muted">
              (<DateTime iso={r.expiresAt} />)
            </span>
          </p>
          <div className="form-actions">
            <button
              type="button"
              className="btn"
              onClick={() => release.mutate({ id: r.id, code: r.code })}
              disabled={release.isPending || !props.account}
              data-testid="redeem-release"
            >
              {t("loyalty.redeem.release")}
            </button>
          </div>
        </div>
      </div>
      {failure ? <MoveError error={failure} testId="release-error" /> : null}
    </li>
  );
}

function Catalogue(props: {
  merchant: string;
  points: Points;
  account: Account | null | undefined;
  redemptions: Redemption[];
  onHeld: (entry: number | undefined) => void;
}) {
  const { t, i18n } = useTranslation();
  const rewards = useRewards(props.merchant);
  const hold = useHold(props.account);
  const [which, setWhich] = useState<string>();
  const p = props.points;
  const failure = hold.error && !(hold.error instanceof SignCancelled) ? hold.error : undefined;
  const redeem = async (reward: Reward) => {
    setWhich(reward.id);
    try {
      props.onHeld(await hold.mutateAsync({ reward, pointName: p.pointName }));
    } catch {
      // shown beside the reward from the mutation's error
    }
  };
  return (
    <Card title={t("loyalty.redeem.catalogueTitle")}>
      {rewards.isPending ? <LoadingState /> : null}
      {rewards.isError ? (
        <ErrorMessage error={rewards.error} retry={() => rewards.refetch()} />
      ) : null}
      {rewards.data && rewards.data.rewards.length === 0 ? (
        <p className="muted" data-testid="rewards-none">
          {t("loyalty.redeem.noRewards")}
        </p>
      ) : null}
      {rewards.data && rewards.data.rewards.length > 0 ? (
        <ul className="loyalty-list loyalty-rewards">
          {rewards.data.rewards.map((w) => {
            const used = usedOf(w.id, props.redemptions);
            const why =
              w.stock === 0
                ? t("loyalty.refusals.out_of_stock")
                : w.perCustomerLimit !== null && used >= w.perCustomerLimit
                  ? t("loyalty.refusals.limit_reached")
                  : p.balance < w.points
                    ? t("loyalty.redeem.notEnough", {
                        count: w.points - p.balance,
                        pointName: p.pointName,
                      })
                    : undefined;
            const descId = `reward-${w.id}-terms`;
            return (
              <li key={w.id} className="loyalty-reward" data-testid="reward" data-id={w.id}>
                <div className="loyalty-lot-head">
                  <strong>{w.name}</strong>
                  <Pill tone="info">
                    {w.points.toLocaleString()} {pointNameFor(p.pointName, w.points, i18n.language)}
                  </Pill>
                </div>
                <p className="hint" id={descId} data-testid="reward-terms">
                  {w.stock === null
                    ? t("loyalty.redeem.stockUnlimited")
                    : t("loyalty.redeem.stock", { count: w.stock })}
                  {w.perCustomerLimit !== null
                    ? ` ${t("loyalty.redeem.limit", { count: w.perCustomerLimit, used })}`
                    : ""}
                  {why ? ` ${why}` : ""}
                </p>
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() => redeem(w)}
                  disabled={why !== undefined || hold.isPending || !props.account}
                  aria-describedby={descId}
                  data-testid="reward-redeem"
                >
                  {t("loyalty.redeem.redeem", { name: w.name })}
                </button>
                {failure && which === w.id ? (
                  <MoveError error={failure} testId="redeem-error" />
                ) : null}
              </li>
            );
          })}
        </ul>
      ) : null}
    </Card>
  );
}

function Discount(props: {
  points: Points;
  account: Account | null | undefined;
  onHeld: (entry: number | undefined) => void;
}) {
  const { t, i18n } = useTranslation();
  const p = props.points;
  const hold = useHold(props.account);
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string>();
  const id = useId();
  const { valuePer100Points, currency } = p.programme;
  const n = /^[0-9]{1,9}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  const worthOf = Number.isNaN(n)
    ? undefined
    : formatMoney(worth(n, valuePer100Points), currency, i18n.language);
  // Fewer points are worth nothing off, and the node refuses them (discount_worthless).
  const minimum = minimumDiscount(valuePer100Points);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const bad = discountProblem(value, p.balance, valuePer100Points);
    setProblem(bad);
    if (bad) {
      document.getElementById(`${id}-points`)?.focus();
      return;
    }
    try {
      props.onHeld(await hold.mutateAsync({ points: n }));
      setValue("");
    } catch {
      // shown below from the mutation's error
    }
  };
  const failure = hold.error && !(hold.error instanceof SignCancelled) ? hold.error : undefined;
  if (minimum === null) {
    return (
      <Card title={t("loyalty.redeem.discountTitle")}>
        <p className="muted" data-testid="discount-none">
          {t("loyalty.redeem.noDiscount", { pointName: p.pointName })}
        </p>
      </Card>
    );
  }
  return (
    <Card title={t("loyalty.redeem.discountTitle")}>
      <p className="hint">
        {t("loyalty.redeem.discountLead", {
          pointName: p.pointName,
          value: formatMoney(valuePer100Points, currency, i18n.language),
        })}
      </p>
      <form className="stack loyalty-form" onSubmit={onSubmit} noValidate>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-points`}>
            {t("loyalty.redeem.discountPoints", { pointName: p.pointName })}
          </label>
          <input
            id={`${id}-points`}
            className="input"
            type="text"
            inputMode="numeric"
            autoComplete="off"
            value={value}
            onChange={(e) => {
              setValue(e.target.value);
              setProblem(undefined);
            }}
            aria-invalid={problem ? true : undefined}
            aria-describedby={`${minimum > 1 ? `${id}-minimum ` : ""}${id}-worth${problem ? ` ${id}-error` : ""}`}
            data-testid="discount-points"
          />
          {minimum > 1 ? (
            <p className="hint field-hint" id={`${id}-minimum`} data-testid="discount-minimum">
              {t("loyalty.redeem.minimum", {
                count: minimum,
                pointName: p.pointName,
                value: formatMoney(worth(minimum, valuePer100Points), currency, i18n.language),
              })}
            </p>
          ) : null}
          <p className="hint field-hint" id={`${id}-worth`} data-testid="discount-worth">
            {worthOf && n >= minimum ? t("loyalty.redeem.worth", { value: worthOf }) : "\u00a0"}
          </p>
          {problem ? (
            <p className="field-error" id={`${id}-error`}>
              {t(problem, {
                balance: p.balance.toLocaleString(),
                minimum: minimum.toLocaleString(),
                pointName: p.pointName,
              })}
            </p>
          ) : null}
        </div>
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={hold.isPending || !props.account}
            data-testid="discount-submit"
          >
            {t("loyalty.redeem.discountSubmit")}
          </button>
        </div>
      </form>
      {failure ? <MoveError error={failure} testId="discount-error" /> : null}
    </Card>
  );
}

function RedemptionList(props: {
  merchant: string;
  points: Points;
  list: Redemption[];
  loading: boolean;
  error: unknown;
  retry: () => void;
}) {
  const { t, i18n } = useTranslation();
  const rewards = useRewards(props.merchant);
  const nameOf = (id: string) => rewards.data?.rewards.find((w) => w.id === id)?.name ?? id;
  return (
    <Card title={t("loyalty.redeem.listTitle")}>
      {props.loading ? <LoadingState /> : null}
      {props.error ? <ErrorMessage error={props.error} retry={props.retry} /> : null}
      {!props.loading && !props.error && props.list.length === 0 ? (
        <p className="muted" data-testid="redemptions-none">
          {t("loyalty.redeem.none")}
        </p>
      ) : null}
      {props.list.length > 0 ? (
        <ul className="loyalty-list loyalty-moves" data-testid="redemptions">
          {props.list.map((r) => (
            <li
              key={r.id}
              className="loyalty-move"
              data-testid="redemption"
              data-id={r.id}
              data-status={r.status}
            >
              <div className="loyalty-lot-head">
                <Pill tone={STATUS_TONE[r.status]}>
                  <span data-testid="redemption-status">
                    {t(`loyalty.redeem.status.${r.status}`)}
                  </span>
                </Pill>
                <strong>
                  {r.kind === "reward" && r.reward
                    ? nameOf(r.reward.id)
                    : t("loyalty.redeem.discount", {
                        value: formatMoney(r.value, r.currency, i18n.language),
                      })}
                </strong>
                <span>
                  −{r.points.toLocaleString()}{" "}
                  {pointNameFor(props.points.pointName, r.points, i18n.language)}
                </span>
              </div>
              <p className="muted">
                <DateTime iso={r.createdAt} />
                {r.closedAt ? (
                  <>
                    {" → "}
                    <DateTime iso={r.closedAt} />
                  </>
                ) : null}
                {r.reference ? ` · ${t("loyalty.redeem.reference", { ref: r.reference })}` : ""}
                {r.requestedBy === "merchant" ? ` · ${t("loyalty.redeem.byTill")}` : ""}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}
