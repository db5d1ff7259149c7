import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { useErrorText } from "../../layout/ui.js";
import { useRetire } from "../hooks/useRules.js";

/**
 * Retires a rule from now on, once confirmed: one public rule.retired entry. The node's refusal
 * (a colleague retired it meanwhile) is shown beside the button.
 */
export function RetireButton(props: { id: string; name: string; small?: boolean }) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const retire = useRetire(props.id);
  return (
    <>
      <button
        type="button"
        className={props.small ? "btn btn-danger btn-small" : "btn btn-danger"}
        disabled={retire.isPending}
        aria-label={props.small ? t("loyalty.history.retireOne", { name: props.name }) : undefined}
        onClick={() => {
          if (window.confirm(t("loyalty.history.retireConfirm", { id: props.id }))) {
            retire.mutate(undefined);
          }
        }}
        data-testid="rule-retire"
      >
        {retire.isPending ? <Spinner /> : null} {t("loyalty.history.retire")}
      </button>
      {retire.error ? (
        <span className="field-error" role="alert" data-testid="rule-retire-error">
          {errorText(retire.error).detail}
        </span>
      ) : null}
    </>
  );
}
