import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { DateTime, useErrorText } from "../../layout/ui.js";
import type { RuleView } from "../api.js";
import { usePublish } from "../hooks/useRules.js";
import { instantOf } from "../rule-forms.js";

/**
 * Publishes the saved draft as the rule's next version: a public rule.published entry with the
 * whole document and its hash, in force now or from a later time (never in the past).
 */
export function PublishPanel(props: { rule: RuleView; unsaved: boolean; canPublish: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const errorText = useErrorText();
  const publish = usePublish(props.rule.id);
  const [when, setWhen] = useState<"now" | "later">("now");
  const [at, setAt] = useState("");
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<{
    version: number;
    effectiveFrom: string;
    entryIndex: number;
  }>();
  const draft = props.rule.draft;

  if (done) {
    return (
      <p className="notice" role="status" data-testid="publish-done">
        {t("loyalty.publish.done", { version: done.version, index: done.entryIndex })}{" "}
        <DateTime iso={done.effectiveFrom} />
      </p>
    );
  }
  if (!props.canPublish) {
    return (
      <p className="hint" data-testid="publish-admins-only">
        {t("loyalty.publish.adminsOnly")}
      </p>
    );
  }
  if (!draft) return <p className="empty-line">{t("loyalty.publish.noDraft")}</p>;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let effectiveFrom: string | undefined;
    if (when === "later") {
      effectiveFrom = instantOf(at);
      if (!effectiveFrom || Date.parse(effectiveFrom) <= Date.now()) {
        setError(t("loyalty.publish.laterInvalid"));
        return;
      }
    }
    try {
      setDone(await publish.mutateAsync(effectiveFrom));
      setWhen("now");
      setAt("");
    } catch (err) {
      setError(errorText(err).detail);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="publish-form">
      <p>{t("loyalty.publish.lead", { version: draft.version })}</p>
      {props.unsaved ? (
        <p className="notice notice-warn" data-testid="publish-unsaved">
          {t("loyalty.publish.unsaved")}
        </p>
      ) : null}
      <fieldset className="fieldset">
        <legend className="label">{t("loyalty.publish.when")}</legend>
        <div className="radio-row">
          <label className="radio">
            <input
              type="radio"
              name={`${id}-when`}
              checked={when === "now"}
              onChange={() => setWhen("now")}
              data-testid="publish-now"
            />{" "}
            {t("loyalty.publish.now")}
          </label>
          <label className="radio">
            <input
              type="radio"
              name={`${id}-when`}
              checked={when === "later"}
              onChange={() => setWhen("later")}
              data-testid="publish-later"
            />{" "}
            {t("loyalty.publish.later")}
          </label>
        </div>
      </fieldset>
      {when === "later" ? (
        <div className="form-field">
          <label className="label" htmlFor={`${id}-at`}>
            {t("loyalty.publish.at")}
          </label>
          <input
            id={`${id}-at`}
            className="input"
            type="datetime-local"
            value={at}
            onChange={(e) => setAt(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            data-testid="publish-at"
          />
        </div>
      ) : null}
      {error ? (
        <p className="field-error" role="alert" id={`${id}-error`} data-testid="publish-error">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={publish.isPending || props.unsaved}
          data-testid="publish-submit"
        >
          {publish.isPending ? <Spinner /> : null}{" "}
          {t("loyalty.publish.submit", { version: draft.version })}
        </button>
      </div>
    </form>
  );
}
