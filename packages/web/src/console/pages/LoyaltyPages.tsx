import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { Card } from "../../components/ui.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { LiabilityTable } from "../loyalty/components/LiabilityTable.js";
import { LoyaltyNav } from "../loyalty/components/LoyaltyNav.js";
import { MemberTable } from "../loyalty/components/MemberTable.js";
import { ProgrammeForm } from "../loyalty/components/ProgrammeForm.js";
import { PublishPanel } from "../loyalty/components/PublishPanel.js";
import { type EditorState, RuleEditor } from "../loyalty/components/RuleEditor.js";
import { RuleHistory } from "../loyalty/components/RuleHistory.js";
import { RuleStatusPill } from "../loyalty/components/RuleStatusPill.js";
import { RuleTable } from "../loyalty/components/RuleTable.js";
import { SimulationPanel } from "../loyalty/components/SimulationPanel.js";
import { useLiability, useMembers } from "../loyalty/hooks/useMembers.js";
import { useProgramme } from "../loyalty/hooks/useProgramme.js";
import { usePublishedDocument, useRule, useRules } from "../loyalty/hooks/useRules.js";
import { currencyDigits } from "../loyalty/money.js";
import { canonical } from "../loyalty/rule-forms.js";
import { ruleName } from "../loyalty/rule-view.js";
import { canWrite, useSession } from "../session/hooks/useSession.js";

// The loyalty screens (issue 9): the programme, the rules (editor, simulation, publishing),
// the members with their balances and the liability. The catalogue and adjustments screens
// join LoyaltyNav once their APIs exist.

function useRoles() {
  const role = useSession().data?.staff.role;
  return { canWrite: canWrite(role), canManage: role === "owner" || role === "admin" };
}

function LoyaltyHead(props: { title: string; lead: string; actions?: React.ReactNode }) {
  return (
    <>
      <PageHead title={props.title} lead={props.lead} actions={props.actions} />
      <LoyaltyNav />
    </>
  );
}

export function LoyaltyProgrammePage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.programme.title"));
  const programme = useProgramme();
  const { canManage } = useRoles();
  return (
    <div className="page">
      <LoyaltyHead title={t("loyalty.programme.title")} lead={t("loyalty.programme.lead")} />
      <Card>
        {programme.isPending ? (
          <LoadingState />
        ) : programme.isError ? (
          <ErrorMessage error={programme.error} retry={() => programme.refetch()} />
        ) : (
          <ProgrammeForm view={programme.data} canManage={canManage} />
        )}
      </Card>
    </div>
  );
}

export function LoyaltyRulesPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.rules.title"));
  const rules = useRules();
  const { canWrite, canManage } = useRoles();
  return (
    <div className="page">
      <LoyaltyHead
        title={t("loyalty.rules.title")}
        lead={t("loyalty.rules.lead")}
        actions={
          canWrite ? (
            <Link to="/loyalty/rules/new" className="btn btn-primary" data-testid="rule-new">
              {t("loyalty.rules.new")}
            </Link>
          ) : undefined
        }
      />
      <Card>
        {rules.isPending ? (
          <LoadingState />
        ) : rules.isError ? (
          <ErrorMessage error={rules.error} retry={() => rules.refetch()} />
        ) : rules.data.rules.length === 0 ? (
          <p className="empty-line" data-testid="rules-empty">
            {t("loyalty.rules.none")}
          </p>
        ) : (
          <RuleTable rules={rules.data.rules} canPublish={canManage} />
        )}
      </Card>
    </div>
  );
}

export function LoyaltyRulePage() {
  const { t } = useTranslation();
  const params = useParams();
  const navigate = useNavigate();
  const id = params.id;
  const rule = useRule(id);
  const rules = useRules();
  const programme = useProgramme();
  const { canWrite, canManage } = useRoles();
  const [editor, setEditor] = useState<EditorState>({ ok: false, reason: "form" });
  // Retired, or only scheduled: the editor starts from its latest publication.
  const loaded = id ? rule.data : undefined;
  const latest =
    loaded && !loaded.draft && !loaded.current
      ? [...loaded.history].reverse().find((h) => h.event === "published" && !h.replaced)
      : undefined;
  const published = usePublishedDocument(latest?.entryIndex);
  const title = id ? (rule.data ? ruleName(rule.data) : id) : t("loyalty.rules.newTitle");
  useTitle(title);
  const loading =
    (id && rule.isPending) ||
    programme.isPending ||
    rules.isPending ||
    (latest !== undefined && published.isPending);
  const failed = (id ? rule.error : null) ?? programme.error ?? rules.error ?? published.error;
  if (loading || failed || !programme.data || !rules.data) {
    return (
      <div className="page">
        <LoyaltyHead title={title} lead={t("loyalty.rules.editLead")} />
        {failed ? (
          <ErrorMessage
            error={failed}
            retry={() => {
              rule.refetch();
              programme.refetch();
              rules.refetch();
            }}
          />
        ) : (
          <LoadingState />
        )}
      </div>
    );
  }
  const p = programme.data.programme;
  const r = id ? rule.data : undefined;
  const saved = r?.draft?.document ?? r?.current?.document;
  const unsaved =
    !editor.ok || saved === undefined || canonical(editor.document) !== canonical(saved);
  return (
    <div className="page">
      <LoyaltyHead
        title={title}
        lead={t("loyalty.rules.editLead")}
        actions={r ? <RuleStatusPill status={r.status} /> : undefined}
      />
      <Card title={t("loyalty.editor.title")}>
        <RuleEditor
          rule={r}
          published={published.data}
          digits={currencyDigits(p.currency)}
          currency={p.currency}
          canWrite={canWrite}
          onDocument={setEditor}
          onSaved={(savedRule) => {
            if (!id)
              navigate(`/loyalty/rules/${encodeURIComponent(savedRule.id)}`, { replace: true });
          }}
        />
      </Card>
      <Card title={t("loyalty.simulate.title")}>
        <p className="hint hint-top">{t("loyalty.simulate.lead")}</p>
        <SimulationPanel
          ruleId={r?.id ?? "new"}
          document={editor.ok ? editor.document : undefined}
          rules={rules.data.rules}
          pointName={p.pointName}
        />
      </Card>
      {r ? (
        <>
          <Card title={t("loyalty.publish.title")}>
            <PublishPanel rule={r} unsaved={r.draft !== null && unsaved} canPublish={canManage} />
          </Card>
          <Card title={t("loyalty.history.title")}>
            <RuleHistory
              rule={r}
              canWrite={canWrite}
              canPublish={canManage}
              onDropped={() => {
                if (!r.current && r.history.length === 0) navigate("/loyalty/rules");
              }}
            />
          </Card>
        </>
      ) : (
        <p className="hint">{t("loyalty.rules.saveFirst")}</p>
      )}
    </div>
  );
}

export function LoyaltyMembersPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.members.title"));
  const [params, setParams] = useSearchParams();
  const cursor = params.get("cursor") ?? undefined;
  const members = useMembers(cursor);
  return (
    <div className="page">
      <LoyaltyHead title={t("loyalty.members.title")} lead={t("loyalty.members.lead")} />
      <Card>
        {members.isPending ? (
          <LoadingState />
        ) : members.isError ? (
          <ErrorMessage error={members.error} retry={() => members.refetch()} />
        ) : members.data.members.length === 0 ? (
          <p className="empty-line" data-testid="members-empty">
            {t("loyalty.members.none")}
          </p>
        ) : (
          <>
            <MemberTable members={members.data.members} />
            <div className="pager">
              {cursor ? (
                <button type="button" className="btn btn-ghost" onClick={() => setParams({})}>
                  {t("loyalty.members.first")}
                </button>
              ) : null}
              {members.data.next ? (
                <button
                  type="button"
                  className="btn btn-ghost"
                  onClick={() => setParams({ cursor: members.data.next as string })}
                  data-testid="members-next"
                >
                  {t("loyalty.members.next")}
                </button>
              ) : null}
            </div>
          </>
        )}
      </Card>
    </div>
  );
}

export function LoyaltyLiabilityPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.liability.title"));
  const liability = useLiability();
  return (
    <div className="page">
      <LoyaltyHead title={t("loyalty.liability.title")} lead={t("loyalty.liability.lead")} />
      <Card>
        {liability.isPending ? (
          <LoadingState />
        ) : liability.isError ? (
          <ErrorMessage error={liability.error} retry={() => liability.refetch()} />
        ) : (
          <LiabilityTable liability={liability.data} />
        )}
      </Card>
    </div>
  );
}
