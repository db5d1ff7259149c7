import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Download } from "../../components/icons.js";
import { Card, Spinner } from "../../components/ui.js";
import { STAGES, type Stage } from "../api/schemas.js";
import { CustomerCreateForm } from "../customers/components/CustomerCreateForm.js";
import { CustomerFilters } from "../customers/components/CustomerFilters.js";
import { CustomerTable } from "../customers/components/CustomerTable.js";
import { MergeSuggestions } from "../customers/components/MergeSuggestions.js";
import {
  type CustomerFilters as Filters,
  useCustomerList,
} from "../customers/hooks/useCustomers.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { useCanWrite } from "../session/hooks/useSession.js";

const isStage = (s: string | null): s is Stage => STAGES.some((x) => x === s);

/**
 * Filters live in the address, so a search can be reloaded, shared and gone back to. An address
 * typed or edited by hand may hold a blank one (`?q=+`), which the node refuses: none, then.
 */
function filtersOf(params: URLSearchParams): Filters {
  const stage = params.get("stage");
  const given = (name: string) => params.get(name)?.trim() || undefined;
  return {
    query: given("q"),
    tag: given("tag"),
    segment: given("segment"),
    stage: isStage(stage) ? stage : undefined,
  };
}

export function CustomersPage() {
  const { t } = useTranslation();
  useTitle(t("customers.title"));
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const [creating, setCreating] = useState(false);
  // Auditors read: the node refuses them creating, exporting and dismissing, so the page has no
  // control for those.
  const writes = useCanWrite();
  const list = useCustomerList(filters);
  const customers = list.data?.pages.flatMap((p) => p.customers) ?? [];
  const change = (next: Filters) => {
    const p = new URLSearchParams();
    if (next.query) p.set("q", next.query);
    if (next.stage) p.set("stage", next.stage);
    if (next.tag) p.set("tag", next.tag);
    if (next.segment) p.set("segment", next.segment);
    setParams(p);
  };
  return (
    <div className="page">
      <PageHead
        title={t("customers.title")}
        lead={t("customers.lead")}
        actions={
          writes ? (
            <>
              {/* The session cookie authenticates the download; the node streams every customer. */}
              <a
                className="btn"
                href="/v1/customers/export?format=csv"
                download
                data-testid="export-customers"
              >
                <Download size={14} /> {t("customers.export")}
              </a>
              {creating ? null : (
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() => setCreating(true)}
                  data-testid="new-customer"
                >
                  {t("customers.new")}
                </button>
              )}
            </>
          ) : null
        }
      />
      {creating && writes ? (
        <Card>
          <CustomerCreateForm onDone={() => setCreating(false)} />
        </Card>
      ) : null}
      <Card>
        <CustomerFilters key={params.toString()} value={filters} onChange={change} />
      </Card>
      <Card>
        {list.isPending ? (
          <LoadingState />
        ) : list.isError && customers.length === 0 ? (
          <ErrorMessage error={list.error} retry={() => list.refetch()} />
        ) : customers.length === 0 ? (
          <p className="empty-line" data-testid="customers-empty">
            {filters.query || filters.stage || filters.tag || filters.segment
              ? t("customers.noMatch")
              : t("customers.none")}
          </p>
        ) : (
          <>
            <p className="muted result-count" aria-live="polite" data-testid="customer-count">
              {t("customers.shown", { count: customers.length })}
            </p>
            <CustomerTable customers={customers} />
            {list.hasNextPage ? (
              <div className="pager">
                <button
                  type="button"
                  className="btn"
                  onClick={() => list.fetchNextPage()}
                  disabled={list.isFetchingNextPage}
                  data-testid="load-more"
                >
                  {list.isFetchingNextPage ? <Spinner /> : null} {t("action.loadMore")}
                </button>
              </div>
            ) : null}
            {list.isError ? <ErrorMessage error={list.error} /> : null}
          </>
        )}
      </Card>
      <Card title={t("duplicates.title")}>
        <p className="hint hint-top">{t("duplicates.lead")}</p>
        <MergeSuggestions canWrite={writes} />
      </Card>
    </div>
  );
}
