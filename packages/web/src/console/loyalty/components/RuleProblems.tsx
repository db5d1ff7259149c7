import { useTranslation } from "react-i18next";
import type { RuleProblem } from "../api.js";

/** The node's faults of a rule, each with the JSON path it is at. */
export function RuleProblems(props: { id: string; problems: RuleProblem[] }) {
  const { t } = useTranslation();
  if (props.problems.length === 0) return null;
  return (
    <div
      className="notice notice-bad rule-problems"
      role="alert"
      id={props.id}
      data-testid="rule-problems"
    >
      <div>
        <strong>{t("loyalty.editor.problems", { count: props.problems.length })}</strong>
        <ul className="plain-list">
          {props.problems.map((p, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the list is replaced whole
            <li key={i} data-testid="rule-problem">
              <code>{p.path || t("loyalty.editor.wholeDocument")}</code> {p.message}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
