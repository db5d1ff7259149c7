import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { z } from "zod";
import { Key } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { KeyChoice, useKeyChoice } from "../account/components/KeyChoice.js";
import { useAccount, useClaim, useMerchant } from "../account/hooks.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { SignCancelled } from "../signing/SigningProvider.js";

// The invite code's alphabet (Crockford base32 without I, L, O, U), as identity/invites.ts has it.
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-?[0-9A-HJKMNP-TV-Z]{4}-?[0-9A-HJKMNP-TV-Z]{4}$/;

const ClaimSchema = z.object({
  code: z
    .string()
    .trim()
    .transform((s) => s.toUpperCase())
    .pipe(z.string().regex(CODE, { error: "claim.errors.code" })),
});
type ClaimForm = z.input<typeof ClaimSchema>;

/** The code the invite link carries in its fragment (#code=…), which no server ever sees. */
function codeOf(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("code") ?? "";
}

export function ClaimPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const location = useLocation();
  const info = useMerchant(merchant);
  const account = useAccount(merchant);
  const claim = useClaim(merchant);
  const navigate = useNavigate();
  const [kind, setKind, passkeys] = useKeyChoice();
  const name = info.data?.merchant.name ?? merchant;
  useTitle(t("claim.title", { merchant: name }));
  const form = useForm<ClaimForm, unknown, z.output<typeof ClaimSchema>>({
    resolver: zodResolver(ClaimSchema),
    defaultValues: { code: codeOf(location.hash) },
  });

  if (info.isPending || account.isPending) return <LoadingState />;
  if (info.isError) {
    return (
      <div className="page narrow">
        <PageHead title={t("join.unknownMerchant")} />
        <ErrorMessage error={info.error} />
      </div>
    );
  }
  if (account.data?.bound) {
    return (
      <div className="page narrow">
        <PageHead title={t("claim.title", { merchant: name })} />
        <div className="notice notice-info" data-testid="already-member">
          <Key size={18} />
          <div>
            <strong>{t("join.already")}</strong>
            <p>
              <Link to={`/m/${merchant}`}>{t("join.open", { merchant: name })}</Link>
            </p>
          </div>
        </div>
      </div>
    );
  }
  const submit = form.handleSubmit(async ({ code }) => {
    try {
      await claim.mutateAsync({ code, kind, merchantName: name });
      navigate(`/m/${merchant}`, { state: { joined: true } });
    } catch {
      // shown below
    }
  });
  return (
    <div className="page narrow">
      <PageHead
        title={t("claim.title", { merchant: name })}
        lead={t("claim.lead", { merchant: name })}
      />
      <form className="form card" onSubmit={submit} noValidate aria-label={t("claim.formLabel")}>
        <div className="card-body stack">
          <FormField
            form={form}
            name="code"
            label={t("claim.code")}
            hint={t("claim.codeHint")}
            autoComplete="one-time-code"
            className="code-field"
          />
          <KeyChoice value={kind} onChange={setKind} supported={passkeys} />
          {claim.error && !(claim.error instanceof SignCancelled) ? (
            <ErrorMessage error={claim.error} testId="claim-error" />
          ) : null}
          {claim.error instanceof SignCancelled ? (
            <p className="hint" role="status">
              {t("signing.cancelled")}
            </p>
          ) : null}
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={claim.isPending}
              data-testid="claim-submit"
            >
              {claim.isPending ? <Spinner /> : <Key size={14} />} {t("claim.submit")}
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
