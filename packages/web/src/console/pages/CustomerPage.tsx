import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Card } from "../../components/ui.js";
import { CustomerConsents } from "../consents/components/CustomerConsents.js";
import { AccessRecords } from "../customers/components/AccessRecords.js";
import { CustomerEditForm } from "../customers/components/CustomerEditForm.js";
import { CustomerErase } from "../customers/components/CustomerErase.js";
import { CustomerIdentities } from "../customers/components/CustomerIdentities.js";
import { CustomerLoyalty } from "../customers/components/CustomerLoyalty.js";
import { CustomerMerged } from "../customers/components/CustomerMerged.js";
import { CustomerProfile } from "../customers/components/CustomerProfile.js";
import { CustomerTimeline } from "../customers/components/CustomerTimeline.js";
import { InteractionForm } from "../customers/components/InteractionForm.js";
import { NoteForm } from "../customers/components/NoteForm.js";
import { useCustomer } from "../customers/hooks/useCustomers.js";
import { CustomerKeyPanel } from "../keys/components/CustomerKeyPanel.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { CustomerRequests } from "../requests/components/CustomerRequests.js";
import { RetentionHolds } from "../requests/components/RetentionHolds.js";
import { useCanWrite, useSession } from "../session/hooks/useSession.js";

/** The customer 360: profile, identities, one timeline across channels, notes, access records. */
export function CustomerPage() {
  const { t } = useTranslation();
  const { id = "" } = useParams();
  const customer = useCustomer(id);
  const [editing, setEditing] = useState(false);
  const c = customer.data;
  const role = useSession().data?.staff.role;
  const canWrite = useCanWrite();
  // Auditors read; the node would refuse their writes, so the forms are not offered.
  const writes = c?.status === "active" && canWrite;
  // Recoveries, and extending, rejecting or carrying out requests, are for owners and admins.
  const manages = role === "owner" || role === "admin";
  useTitle(c ? (c.name ?? t("customer.unnamed")) : t("customer.title"));
  return (
    <div className="page">
      <nav className="crumbs" aria-label={t("nav.breadcrumbs")}>
        <Link to="/customers">{t("customers.title")}</Link> <span aria-hidden="true">/</span>{" "}
        <span aria-current="page">{c?.name ?? id}</span>
      </nav>
      {customer.isPending ? (
        <LoadingState />
      ) : customer.isError ? (
        <ErrorMessage error={customer.error} retry={() => customer.refetch()} />
      ) : (
        <>
          <PageHead
            title={
              c?.status === "erased" ? t("customer.erased") : (c?.name ?? t("customer.unnamed"))
            }
            lead={<code>{id}</code>}
            actions={
              writes && !editing ? (
                <button
                  type="button"
                  className="btn"
                  onClick={() => setEditing(true)}
                  data-testid="edit-customer"
                >
                  {t("customer.edit")}
                </button>
              ) : null
            }
          />
          {c?.status === "merged" ? <CustomerMerged customer={c} canWrite={canWrite} /> : null}
          <div className="customer-layout">
            <div className="customer-side">
              <Card title={t("customer.profile")}>
                {editing && c ? (
                  <CustomerEditForm customer={c} onDone={() => setEditing(false)} />
                ) : c ? (
                  <CustomerProfile customer={c} />
                ) : null}
              </Card>
              <Card title={t("customer.identities")}>
                {c ? <CustomerIdentities customer={c} /> : null}
              </Card>
              {c && c.status !== "merged" ? (
                <Card title={t("customerLoyalty.title")}>
                  <CustomerLoyalty customerId={id} canWrite={writes} />
                </Card>
              ) : null}
            </div>
            <div className="customer-main">
              {writes ? (
                <Card title={t("note.title")}>
                  <NoteForm customerId={id} />
                </Card>
              ) : null}
              {writes ? (
                <Card title={t("interactionForm.title")}>
                  <InteractionForm customerId={id} />
                </Card>
              ) : null}
              <Card title={t("timeline.title")}>
                <p className="hint hint-top">{t("timeline.lead")}</p>
                <CustomerTimeline customerId={id} editable={writes} />
              </Card>
            </div>
          </div>
          {c && c.status !== "merged" ? (
            // The consents' table takes the page's width; the key and the requests share a row.
            <>
              <Card title={t("consents.customerTitle")}>
                <CustomerConsents customerId={id} emails={c.emails} canWrite={writes} />
              </Card>
              <div className="customer-privacy">
                <Card title={t("customerKey.title")}>
                  <CustomerKeyPanel
                    customerId={id}
                    active={c.status === "active"}
                    canWrite={canWrite}
                    canManage={manages}
                  />
                </Card>
                <Card title={t("requests.customerTitle")}>
                  <CustomerRequests
                    customerId={id}
                    active={c.status === "active"}
                    canWrite={canWrite}
                    canManage={manages}
                  />
                </Card>
              </div>
            </>
          ) : null}
          {c?.status === "erased" ? (
            <Card title={t("retention.holdsTitle")}>
              <RetentionHolds customerId={id} />
            </Card>
          ) : null}
          <Card title={t("access.title")}>
            <AccessRecords customerId={id} />
          </Card>
          {c?.status === "active" && manages ? (
            <Card title={t("erase.title")}>
              <CustomerErase customerId={id} name={c.name ?? id} />
            </Card>
          ) : null}
        </>
      )}
    </div>
  );
}
