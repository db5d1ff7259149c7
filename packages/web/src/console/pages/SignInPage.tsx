import { useTranslation } from "react-i18next";
import { Link, Navigate, useSearchParams } from "react-router";
import { Card } from "../../components/ui.js";
import { LoadingState, useTitle } from "../layout/ui.js";
import { PasskeySignIn } from "../session/components/PasskeySignIn.js";
import { SignInForm } from "../session/components/SignInForm.js";
import { useSession } from "../session/hooks/useSession.js";

/** Only paths inside the console: a crafted `next` must not send anyone elsewhere. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.includes("\\")) {
    return "/customers";
  }
  return next;
}

export function SignInPage() {
  const { t } = useTranslation();
  useTitle(t("signIn.title"));
  const [params] = useSearchParams();
  const session = useSession();
  const next = safeNext(params.get("next"));
  if (session.isPending) return <LoadingState />;
  if (session.data) return <Navigate to={next} replace />;
  return (
    <div className="page narrow sign-in-page">
      <div className="page-head">
        <div>
          <h1>{t("signIn.title")}</h1>
          <p className="lead">{t("signIn.lead")}</p>
        </div>
      </div>
      <Card>
        <SignInForm />
        <PasskeySignIn />
        <p className="hint">
          <Link to="/forgot-password">{t("account.forgotLink")}</Link>
        </p>
      </Card>
      <p className="hint">{t("signIn.bootstrapHint")}</p>
    </div>
  );
}
