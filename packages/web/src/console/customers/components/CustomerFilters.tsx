import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { STAGES, type Stage } from "../../api/schemas.js";
import { useSegments } from "../../segments/hooks/useSegments.js";
import type { CustomerFilters as Filters } from "../hooks/useCustomers.js";

/** Search (names in any script, an exact email or phone), stage, tag and segment. */
export function CustomerFilters(props: { value: Filters; onChange: (next: Filters) => void }) {
  const { t } = useTranslation();
  const id = useId();
  const segments = useSegments();
  const [query, setQuery] = useState(props.value.query ?? "");
  const [tag, setTag] = useState(props.value.tag ?? "");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    props.onChange({
      ...props.value,
      query: query.trim() || undefined,
      tag: tag.trim() || undefined,
    });
  };
  return (
    <search aria-label={t("customers.search")}>
      <form className="filters" onSubmit={submit}>
        <div className="filter filter-search">
          <label className="label" htmlFor={`${id}-q`}>
            {t("customers.search")}
          </label>
          <input
            id={`${id}-q`}
            className="input"
            type="search"
            value={query}
            maxLength={200}
            onChange={(e) => setQuery(e.target.value)}
            placeholder={t("customers.searchPlaceholder")}
            data-testid="customer-search"
          />
        </div>
        <div className="filter">
          <label className="label" htmlFor={`${id}-stage`}>
            {t("customers.stage")}
          </label>
          <select
            id={`${id}-stage`}
            className="input"
            value={props.value.stage ?? ""}
            onChange={(e) =>
              props.onChange({ ...props.value, stage: (e.target.value || undefined) as Stage })
            }
            data-testid="filter-stage"
          >
            <option value="">{t("customers.anyStage")}</option>
            {STAGES.map((s) => (
              <option key={s} value={s}>
                {t(`stage.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label className="label" htmlFor={`${id}-tag`}>
            {t("customers.tag")}
          </label>
          <input
            id={`${id}-tag`}
            className="input"
            value={tag}
            maxLength={40}
            onChange={(e) => setTag(e.target.value)}
            data-testid="filter-tag"
          />
        </div>
        <div className="filter">
          <label className="label" htmlFor={`${id}-segment`}>
            {t("customers.segment")}
          </label>
          <select
            id={`${id}-segment`}
            className="input"
            value={props.value.segment ?? ""}
            onChange={(e) =>
              props.onChange({ ...props.value, segment: e.target.value || undefined })
            }
            data-testid="filter-segment"
          >
            <option value="">{t("customers.anySegment")}</option>
            {(segments.data?.segments ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter filter-submit">
          <button type="submit" className="btn btn-primary" data-testid="customer-search-submit">
            {t("action.search")}
          </button>
        </div>
      </form>
    </search>
  );
}
