import { useTranslation } from "react-i18next";
import { Key } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { usePasskeySignIn } from "../hooks/usePasskeys.js";
import { passkeysAvailable } from "../webauthn.js";

export function PasskeySignIn() {
  const { t } = useTranslation();
  const signIn = usePasskeySignIn();
  const errorText = useErrorText();
  if (!passkeysAvailable()) return null;
  const err = signIn.error;
  const failure =
    err instanceof DOMException
      ? t("passkeys.cancelled")
      : err instanceof ConsoleApiError && err.code === "invalid_credentials"
        ? t("passkeys.refused")
        : err
          ? errorText(err).detail
          : undefined;
  return (
    <div className="passkey-sign-in">
      <button
        type="button"
        className="btn"
        onClick={() => signIn.mutate()}
        disabled={signIn.isPending}
        data-testid="passkey-sign-in"
      >
        {signIn.isPending ? <Spinner /> : <Key size={14} />} {t("passkeys.signIn")}
      </button>
      {failure ? (
        <p className="field-error" role="alert" data-testid="passkey-error">
          {failure}
        </p>
      ) : null}
    </div>
  );
}
