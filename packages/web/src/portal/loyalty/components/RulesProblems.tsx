import { useTranslation } from "react-i18next";
import type { RulesProblem } from "../verify.js";

/** What failed about the published rules, each problem with its entry and the library's words. */
export function RulesProblems(props: { problems: RulesProblem[] }) {
  const { t } = useTranslation();
  return (
    <ul className="problem-list">
      {props.problems.map((p) => (
        <li key={p.detail} data-testid="rules-problem" data-entry={p.entry}>
          <strong>
            {t(`loyalty.rules.problems.${p.kind}`, {
              entry: p.entry,
              rule: p.rule ?? "",
              version: p.version ?? "",
            })}
          </strong>
          <code className="problem-detail">{p.detail}</code>
        </li>
      ))}
    </ul>
  );
}
