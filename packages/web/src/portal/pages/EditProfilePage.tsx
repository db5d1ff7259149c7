import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { z } from "zod";
import { Key } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { useAccount } from "../account/hooks.js";
import { realDate, useLanguageOptions } from "../account/profile-fields.js";
import { formOf, type RectifyForm, rectification } from "../account/rectify.js";
import { useRectify } from "../account/rectify-hooks.js";
import { PortalApiError } from "../api/client.js";
import type { Profile } from "../api/schemas.js";
import { ErrorMessage, LoadingState, useTitle } from "../layout/ui.js";
import { useMe } from "../session/hooks.js";
import { SignCancelled } from "../signing/SigningProvider.js";

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const PHONE = /^\+?[\d\s().-]{4,40}$/;
const items = (s: string) =>
  s
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

const long = (n: number) => z.string().trim().max(n, { error: "join.errors.tooLong" });

/** The node's rules for a rectification (customers/profile.ts), checked before anything is signed. */
const RectifySchema = z.object({
  name: long(200),
  emails: z.string().refine((s) => items(s).every((e) => EMAIL.test(e) && e.length <= 254), {
    error: "join.errors.email",
  }),
  phones: z.string().refine((s) => items(s).every((p) => PHONE.test(p)), {
    error: "join.errors.phone",
  }),
  birthday: z.union([
    z.literal(""),
    z.string().refine(realDate, { error: "join.errors.birthday" }),
  ]),
  language: z.string(),
  line1: long(200),
  line2: long(200),
  city: long(100),
  region: long(100),
  postcode: long(20),
  country: z.union([
    z.literal(""),
    z
      .string()
      .trim()
      .regex(/^[A-Za-z]{2}$/, { error: "join.errors.country" }),
  ]),
}) satisfies z.ZodType<RectifyForm>;

/** The field a node refusal names ("attached.values.emails.0: …"), if it is one of the form's. */
function fieldOfRefusal(err: unknown): { field: keyof RectifyForm; message: string } | undefined {
  if (!(err instanceof PortalApiError) || err.code !== "invalid_request") return undefined;
  const m = /^attached\.values\.(\w+)(?:\.(\w+))?: (.*)$/.exec(err.message);
  if (!m) return undefined;
  const field = (m[1] === "address" ? (m[2] ?? "line1") : m[1]) as keyof RectifyForm;
  if (!(field in RectifySchema.shape)) return undefined;
  return { field, message: m[3] ?? err.message };
}

/**
 * Rectification (Art. 16): the customer corrects their own details. Only what changed is sent,
 * beside a customer.update command their key signs; the ledger keeps the commitment.
 */
export function EditProfilePage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const me = useMe(merchant);
  useTitle(t("rectify.title"));
  if (me.isPending) return <LoadingState />;
  if (me.isError) return <ErrorMessage error={me.error} retry={() => me.refetch()} />;
  return <EditForm merchant={merchant} profile={me.data.profile} />;
}

function EditForm(props: { merchant: string; profile: Profile }) {
  const { t } = useTranslation();
  const account = useAccount(props.merchant);
  const rectify = useRectify(account.data);
  const navigate = useNavigate();
  const form = useForm<RectifyForm>({
    resolver: zodResolver(RectifySchema),
    defaultValues: formOf(props.profile),
  });
  const languages = useLanguageOptions(props.profile.language);

  const submit = form.handleSubmit(async (values) => {
    const changes = rectification(props.profile, values);
    if (Object.keys(changes).length === 0) {
      form.setError("root", { type: "client", message: t("rectify.nothing") });
      return;
    }
    try {
      await rectify.mutateAsync(changes);
      navigate(`/m/${props.merchant}`, { state: { rectified: true } });
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
  const failure =
    rectify.error && !(rectify.error instanceof SignCancelled) ? rectify.error : undefined;
  const showFailure = failure && !fieldOfRefusal(failure);
  const nothing = form.formState.errors.root?.message;

  return (
    <form
      className="form card"
      onSubmit={submit}
      noValidate
      aria-label={t("rectify.title")}
      data-testid="rectify-form"
    >
      <header className="card-head">
        <h2>{t("rectify.title")}</h2>
      </header>
      <div className="card-body stack">
        <p className="hint">{t("rectify.lead")}</p>
        <div className="form-grid">
          <FormField form={form} name="name" label={t("profile.fields.name")} autoComplete="name" />
          <FormField
            form={form}
            name="emails"
            label={t("profile.fields.email")}
            hint={t("rectify.several")}
            autoComplete="email"
            inputMode="email"
          />
          <FormField
            form={form}
            name="phones"
            type="tel"
            label={t("profile.fields.phone")}
            hint={`${t("rectify.several")} ${t("join.phoneHint")}`}
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
              name="region"
              label={t("rectify.region")}
              autoComplete="address-level1"
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
        {nothing ? (
          <p className="hint" role="status" data-testid="rectify-nothing">
            {nothing}
          </p>
        ) : null}
        {showFailure ? <ErrorMessage error={failure} testId="rectify-error" /> : null}
        {rectify.error instanceof SignCancelled ? (
          <p className="hint" role="status">
            {t("signing.cancelled")}
          </p>
        ) : null}
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={rectify.isPending}
            data-testid="rectify-submit"
          >
            {rectify.isPending ? <Spinner /> : <Key size={14} />} {t("rectify.submit")}
          </button>
          <Link className="btn btn-ghost" to={`/m/${props.merchant}`}>
            {t("rectify.cancel")}
          </Link>
        </div>
      </div>
    </form>
  );
}
