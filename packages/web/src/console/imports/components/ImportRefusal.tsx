import { useTranslation } from "react-i18next";
import { ConsoleApiError } from "../../api/client.js";
import { ErrorMessage } from "../../layout/ui.js";
import { issueColumns, knownFileError } from "../issue-text.js";
import { InColumns } from "./ImportReport.js";

/**
 * Why an upload was refused. A refusal of the whole file (no header, a column twice, not
 * UTF-8, a country that is none…) is said in the console's language by its code, with the
 * file's columns it names, as a row's reason is; any other error as every page says one.
 */
export function ImportRefusal(props: { error: unknown }) {
  const { t } = useTranslation();
  const { error } = props;
  if (!(error instanceof ConsoleApiError) || !knownFileError(error.code)) {
    return <ErrorMessage error={error} />;
  }
  const columns = issueColumns(error.message);
  return (
    <ErrorMessage
      error={error}
      detail={
        <span data-testid="import-refusal">
          <code>{error.code}</code> {t(`import.fileCodes.${error.code}`)}
          <InColumns columns={columns} />
        </span>
      }
    />
  );
}
