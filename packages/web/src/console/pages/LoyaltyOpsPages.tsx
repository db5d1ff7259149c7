import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Card } from "../../components/ui.js";
import { ErrorMessage, LoadingState, PageHead, useErrorText, useTitle } from "../layout/ui.js";
import { AdjustmentForm } from "../loyalty/components/AdjustmentForm.js";
import { AdjustmentTable } from "../loyalty/components/AdjustmentTable.js";
import { CatalogueForm } from "../loyalty/components/CatalogueForm.js";
import { CatalogueTable } from "../loyalty/components/CatalogueTable.js";
import { LoyaltyNav } from "../loyalty/components/LoyaltyNav.js";
import { TillPanel } from "../loyalty/components/TillPanel.js";
import {
  useAdjustments,
  useDeactivateReward,
  useDecideAdjustment,
  useProgrammeTerms,
  useRewards,
} from "../loyalty/hooks/useOps.js";
import {
  ADJUSTMENT_STATUSES,
  type Adjustment,
  DEFAULT_APPROVAL_THRESHOLD,
  type Reward,
  staffActor,
} from "../loyalty/ops-api.js";
import { canWrite, useSession } from "../session/hooks/useSession.js";

// The loyalty screens of the counter and the back office: the catalogue of rewards, manual
// adjustments with their approvals, and the till that captures a customer's hold by its code.

function useRoles() {
  const session = useSession().data;
  const role = session?.staff.role;
  return {
    canWrite: canWrite(role),
    canManage: role === "owner" || role === "admin",
    me: session ? staffActor(session.merchant.id, session.staff.id) : "",
  };
}

function OpsHead(props: { title: string; lead: string }) {
  return (
    <>
      <PageHead title={props.title} lead={props.lead} />
      <LoyaltyNav />
    </>
  );
}

export function LoyaltyCataloguePage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.ops.catalogue.title"));
  const rewards = useRewards();
  const terms = useProgrammeTerms();
  const deactivate = useDeactivateReward();
  const errorText = useErrorText();
  const { canManage } = useRoles();
  const [editing, setEditing] = useState<Reward>();
  const [message, setMessage] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const pointName = terms.data?.programme.pointName ?? t("loyalty.ops.points");
  const onEdit = useCallback((r: Reward) => {
    setMessage(undefined);
    setEditing(r);
    requestAnimationFrame(() =>
      document.getElementById("reward-edit-card")?.querySelector("input")?.focus(),
    );
  }, []);
  const onDeactivate = useCallback(
    async (r: Reward) => {
      setMessage(undefined);
      setFailure(undefined);
      try {
        await deactivate.mutateAsync(r.id);
        setMessage(t("loyalty.ops.catalogue.deactivated", { name: r.name }));
      } catch (err) {
        setFailure(errorText(err).detail);
      }
    },
    [deactivate, errorText, t],
  );
  return (
    <div className="page">
      <OpsHead title={t("loyalty.ops.catalogue.title")} lead={t("loyalty.ops.catalogue.lead")} />
      <Card title={t("loyalty.ops.catalogue.list")}>
        <div aria-live="polite">
          {message ? (
            <p className="notice" role="status" data-testid="catalogue-message">
              {message}
            </p>
          ) : null}
          {failure ? (
            <p className="field-error" role="alert" data-testid="catalogue-error">
              {failure}
            </p>
          ) : null}
        </div>
        {rewards.isPending ? (
          <LoadingState />
        ) : rewards.isError ? (
          <ErrorMessage error={rewards.error} retry={() => rewards.refetch()} />
        ) : rewards.data.rewards.length === 0 ? (
          <p className="empty-line" data-testid="rewards-empty">
            {t("loyalty.ops.catalogue.none")}
          </p>
        ) : (
          <CatalogueTable
            rewards={rewards.data.rewards}
            canManage={canManage}
            busy={deactivate.isPending}
            onEdit={onEdit}
            onDeactivate={onDeactivate}
          />
        )}
        {canManage ? null : <p className="hint">{t("loyalty.ops.catalogue.adminsOnly")}</p>}
      </Card>
      {canManage && editing ? (
        <Card
          title={t("loyalty.ops.catalogue.editTitle", { name: editing.name })}
          id="reward-edit-card"
        >
          <CatalogueForm
            reward={editing}
            pointName={pointName}
            onDone={(saved) => {
              setEditing(undefined);
              if (saved)
                setMessage(
                  t("loyalty.ops.catalogue.saved", { name: saved.name, version: saved.version }),
                );
            }}
          />
        </Card>
      ) : null}
      {canManage ? (
        <Card title={t("loyalty.ops.catalogue.newTitle")}>
          <CatalogueForm
            pointName={pointName}
            onDone={(saved) => {
              if (saved) setMessage(t("loyalty.ops.catalogue.created", { name: saved.name }));
            }}
          />
        </Card>
      ) : null}
    </div>
  );
}

export function LoyaltyAdjustmentsPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.ops.adjustments.title"));
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const adjustments = useAdjustments(status);
  const terms = useProgrammeTerms();
  const decide = useDecideAdjustment();
  const errorText = useErrorText();
  const { canWrite, canManage, me } = useRoles();
  const [message, setMessage] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const threshold =
    terms.data?.programme.adjustments?.approvalThreshold ?? DEFAULT_APPROVAL_THRESHOLD;
  const pointName = terms.data?.programme.pointName ?? t("loyalty.ops.points");
  const onDecide = useCallback(
    async (a: Adjustment, verb: "approve" | "reject") => {
      setMessage(undefined);
      setFailure(undefined);
      try {
        const done = await decide.mutateAsync({ id: a.id, verb });
        setMessage(
          t(`loyalty.ops.adjustments.${verb === "approve" ? "approved" : "rejected"}`, {
            points: done.points.toLocaleString(),
            customer: done.customerId,
          }),
        );
      } catch (err) {
        const code = (err as { code?: string }).code;
        setFailure(
          code === "same_staff"
            ? t("loyalty.ops.adjustments.refusals.same_staff")
            : code === "not_pending"
              ? t("loyalty.ops.adjustments.refusals.not_pending")
              : code === "insufficient_points"
                ? t("loyalty.ops.adjustments.refusals.insufficient_points")
                : errorText(err).detail,
        );
      }
    },
    [decide, errorText, t],
  );
  return (
    <div className="page">
      <OpsHead
        title={t("loyalty.ops.adjustments.title")}
        lead={t("loyalty.ops.adjustments.lead", {
          threshold: threshold.toLocaleString(),
          name: pointName,
        })}
      />
      {canWrite ? (
        <Card title={t("loyalty.ops.adjustments.newTitle")}>
          {terms.isPending ? (
            <LoadingState />
          ) : (
            <AdjustmentForm
              customerId={params.get("customer") ?? ""}
              threshold={threshold}
              pointName={pointName}
              onDone={() => setMessage(undefined)}
            />
          )}
        </Card>
      ) : null}
      <Card
        title={t("loyalty.ops.adjustments.list")}
        actions={
          <label className="inline-form">
            <span className="label">{t("loyalty.ops.adjustments.filter")}</span>{" "}
            <select
              className="input select-compact"
              value={status}
              onChange={(e) => {
                const next = new URLSearchParams(params);
                if (e.target.value) next.set("status", e.target.value);
                else next.delete("status");
                setParams(next, { replace: true });
              }}
              data-testid="adjustment-filter"
            >
              <option value="">{t("loyalty.ops.adjustments.all")}</option>
              {ADJUSTMENT_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`loyalty.ops.adjustments.statuses.${s}`)}
                </option>
              ))}
            </select>
          </label>
        }
      >
        <div aria-live="polite">
          {message ? (
            <p className="notice" role="status" data-testid="adjustment-decided">
              {message}
            </p>
          ) : null}
          {failure ? (
            <p className="field-error" role="alert" data-testid="adjustment-decide-error">
              {failure}
            </p>
          ) : null}
        </div>
        {adjustments.isPending ? (
          <LoadingState />
        ) : adjustments.isError ? (
          <ErrorMessage error={adjustments.error} retry={() => adjustments.refetch()} />
        ) : adjustments.data.adjustments.length === 0 ? (
          <p className="empty-line" data-testid="adjustments-empty">
            {t("loyalty.ops.adjustments.none")}
          </p>
        ) : (
          <AdjustmentTable
            adjustments={adjustments.data.adjustments}
            me={me}
            canDecide={canManage}
            busy={decide.isPending}
            onDecide={onDecide}
          />
        )}
        <p className="hint">{t("loyalty.ops.adjustments.rule")}</p>
      </Card>
    </div>
  );
}

export function LoyaltyTillPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.ops.till.title"));
  const rewards = useRewards();
  const terms = useProgrammeTerms();
  const { canWrite } = useRoles();
  return (
    <div className="page">
      <OpsHead title={t("loyalty.ops.till.title")} lead={t("loyalty.ops.till.lead")} />
      <Card>
        {canWrite ? null : <p className="hint">{t("loyalty.ops.till.readOnly")}</p>}
        <TillPanel
          rewards={rewards.data?.rewards ?? []}
          pointName={terms.data?.programme.pointName ?? t("loyalty.ops.points")}
          canWrite={canWrite}
        />
      </Card>
    </div>
  );
}
