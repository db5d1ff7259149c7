import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { z } from "zod";
import { Key } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { KeyChoice, useKeyChoice } from "../account/components/KeyChoice.js";
import { type JoinForm, joinValues, useAccount, useJoin, useMerchant } from "../account/hooks.js";
import { realDate, useLanguageOptions } from "../account/profile-fields.js";
import { PortalApiError } from "../api/client.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { SignCancelled } from "../signing/SigningProvider.js";

const optional = <S extends z.ZodType<string>>(schema: S) => z.union([z.literal(""), schema]);

/** The node's rules for these values (customers/profile.ts), checked before anything is signed. */
const JoinSchema = z.object({
  name: z.string().trim().max(200, { error: "join.errors.tooLong" }),
  email: optional(z.email({ error: "join.errors.email" }).max(254)),
  phone: optional(
    z
      .string()
      .trim()
      .regex(/^\+?[\d\s().-]{4,40}$/, { error: "join.errors.phone" }),
  ),
  birthday: optional(z.string().refine(realDate, { error: "join.errors.birthday" })),
  language: z.string(),
  line1: z.string().trim().max(200, { error: "join.errors.tooLong" }),
  line2: z.string().trim().max(200, { error: "join.errors.tooLong" }),
  city: z.string().trim().max(100, { error: "join.errors.tooLong" }),
  postcode: z.string().trim().max(20, { error: "join.errors.tooLong" }),
  country: optional(
    z
      .string()
      .trim()
      .regex(/^[A-Za-z]{2}$/, { error: "join.errors.country" }),
  ),
}) satisfies z.ZodType<JoinForm>;

/** The field a node refusal names ("attached.values.phone: …"), if it is one of the form's. */
function fieldOfRefusal(err: unknown): { field: keyof JoinForm; message: string } | undefined {
  if (!(err instanceof PortalApiError) || err.code !== "invalid_request") return undefined;
  const m = /^attached\.values\.(\w+)(?:\.(\w+))?: (.*)$/.exec(err.message);
  if (!m) return undefined;
  const field = (m[1] === "address" ? (m[2] ?? "line1") : m[1]) as keyof JoinForm;
  return { field, message: m[3] ?? err.message };
}

export function JoinPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const info = useMerchant(merchant);
  const account = useAccount(merchant);
  const join = useJoin(merchant);
  const navigate = useNavigate();
  const [kind, setKind, passkeys] = useKeyChoice();
  const name = info.data?.merchant.name ?? merchant;
  useTitle(t("join.title", { merchant: name }));
  const form = useForm<JoinForm>({
    resolver: zodResolver(JoinSchema),
    defaultValues: {
      name: "",
      email: "",
      phone: "",
      birthday: "",
      // "Not said" until the customer chooses one: no language is sent unless chosen.
      language: "",
      line1: "",
      line2: "",
      city: "",
      postcode: "",
      country: "",
    },
  });
  const languages = useLanguageOptions();

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
        <PageHead title={t("join.title", { merchant: name })} />
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

  const submit = form.handleSubmit(async (values) => {
    try {
      await join.mutateAsync({ values: joinValues(values), kind, merchantName: name });
      navigate(`/m/${merchant}`, { state: { joined: true } });
    } catch (err) {
      const refusal = fieldOfRefusal(err);
      if (refusal) {
        form.setError(
          refusal.field,
          { type: "server", message: refusal.message },
          { shouldFocus: true },
        );
      }
    }
  });
  const failure = join.error && !(join.error instanceof SignCancelled) ? join.error : undefined;
  const showFailure = failure && !fieldOfRefusal(failure);

  return (
    <div className="page narrow">
      <PageHead
        title={t("join.title", { merchant: name })}
        lead={t("join.lead", { merchant: name })}
      />
      <form className="form card" onSubmit={submit} noValidate aria-label={t("join.formLabel")}>
        <div className="card-body stack">
          <div className="form-grid">
            <FormField
              form={form}
              name="name"
              label={t("profile.fields.name")}
              autoComplete="name"
            />
            <FormField
              form={form}
              name="email"
              type="email"
              label={t("profile.fields.email")}
              autoComplete="email"
              inputMode="email"
            />
            <FormField
              form={form}
              name="phone"
              type="tel"
              label={t("profile.fields.phone")}
              hint={t("join.phoneHint")}
              autoComplete="tel"
              inputMode="tel"
            />
            <FormField
              form={form}
              name="birthday"
              type="date"
              label={t("profile.fields.birthday")}
              autoComplete="bday"
            />
            <FormField
              form={form}
              name="language"
              label={t("profile.fields.language")}
              options={languages}
            />
          </div>
          <fieldset className="fieldset">
            <legend className="label">{t("profile.fields.address")}</legend>
            <div className="form-grid">
              <FormField
                form={form}
                name="line1"
                label={t("join.line1")}
                autoComplete="address-line1"
              />
              <FormField
                form={form}
                name="line2"
                label={t("join.line2")}
                autoComplete="address-line2"
              />
              <FormField
                form={form}
                name="city"
                label={t("join.city")}
                autoComplete="address-level2"
              />
              <FormField
                form={form}
                name="postcode"
                label={t("join.postcode")}
                autoComplete="postal-code"
              />
              <FormField
                form={form}
                name="country"
                label={t("join.country")}
                hint={t("join.countryHint")}
                autoComplete="country"
              />
            </div>
          </fieldset>
          <p className="hint">{t("join.optional")}</p>
          <KeyChoice value={kind} onChange={setKind} supported={passkeys} />
          {showFailure ? <ErrorMessage error={failure} testId="join-error" /> : null}
          {join.error instanceof SignCancelled ? (
            <p className="hint" role="status">
              {t("signing.cancelled")}
            </p>
          ) : null}
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={join.isPending}
              data-testid="join-submit"
            >
              {join.isPending ? <Spinner /> : <Key size={14} />} {t("join.submit")}
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
