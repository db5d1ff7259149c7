import type { Command, SignedCommand } from "@patron/ledger";
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from "react";
import { useTranslation } from "react-i18next";
import { shorten } from "../../components/ui.js";
import { type KeyRef, signWith } from "../keys/signer.js";
import { DateTime } from "../layout/ui.js";
import { describeCommand } from "./describe.js";

// Every signature is shown to the customer before it is made (ARCHITECTURE decision 13): what
// it does in plain words, for which merchant, with which key, until when, the personal values
// that travel beside it, and the exact command. Nothing is signed until they press "Sign".

export interface SignRequest {
  key: KeyRef;
  command: Command;
  merchantName: string;
  /** Personal values that travel beside the command (its payload holds their commitment). */
  shared?: Record<string, string>;
  /** This signature's place in a pair (a key rotation signs twice). */
  step?: { n: number; of: number };
  /** What the ids the command carries are called (purposes, categories, merchants, a consent). */
  names?: Record<string, string>;
  /** The programme's name for its points, for a command that moves them. */
  pointName?: string;
}

/** The customer closed the dialog without signing: nothing was signed or sent. */
export class SignCancelled extends Error {
  override name = "SignCancelled";
  constructor() {
    super("nothing was signed");
  }
}

type Confirm = (r: SignRequest) => Promise<boolean>;
const ConfirmContext = createContext<Confirm | undefined>(undefined);

export function SigningProvider(props: { children: ReactNode }) {
  const [pending, setPending] = useState<
    { request: SignRequest; resolve: (ok: boolean) => void } | undefined
  >();
  const confirm = useCallback<Confirm>(
    (request) => new Promise<boolean>((resolve) => setPending({ request, resolve })),
    [],
  );
  const done = (ok: boolean) => {
    pending?.resolve(ok);
    setPending(undefined);
  };
  return (
    <ConfirmContext.Provider value={confirm}>
      {props.children}
      <SignDialog request={pending?.request} onDone={done} />
    </ConfirmContext.Provider>
  );
}

/**
 * Shows what `command` means and signs it with `key` only if the customer agrees.
 * Throws SignCancelled when they do not.
 */
export function useSign() {
  const confirm = useContext(ConfirmContext);
  if (!confirm) throw new Error("useSign needs a SigningProvider");
  return useCallback(
    async (request: SignRequest): Promise<SignedCommand> => {
      if (!(await confirm(request))) throw new SignCancelled();
      return signWith(request.key, request.command);
    },
    [confirm],
  );
}

const SHARED_ORDER = ["name", "email", "phone", "birthday", "language", "address", "message"];

/**
 * One <dialog>, always in the page, shown as a modal while a signature waits: the browser
 * keeps the focus inside it, Escape cancels, and closing it gives the focus back to where it
 * was (a removed open dialog would leave that to chance).
 */
function SignDialog(props: { request: SignRequest | undefined; onDone: (ok: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { request } = props;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) dialog.showModal();
    if (!request && dialog.open) dialog.close();
  }, [request]);
  return (
    <dialog
      ref={ref}
      className="sign-dialog"
      aria-labelledby="sign-dialog-title"
      aria-describedby="sign-dialog-what"
      onCancel={(e) => {
        e.preventDefault();
        props.onDone(false);
      }}
      data-testid={request ? "sign-dialog" : undefined}
      data-command-type={request?.command.type}
    >
      {request ? <SignDialogContent request={request} onDone={props.onDone} /> : null}
    </dialog>
  );
}

function SignDialogContent(props: { request: SignRequest; onDone: (ok: boolean) => void }) {
  const { t, i18n } = useTranslation();
  const { request } = props;
  const { command } = request;
  const description = describeCommand(command, request.merchantName, request.names, {
    pointName: request.pointName ?? t("signing.points"),
    language: i18n.language,
  });
  const shared = Object.entries(request.shared ?? {})
    .filter(([, v]) => v !== "")
    .sort(([a], [b]) => SHARED_ORDER.indexOf(a) - SHARED_ORDER.indexOf(b));
  return (
    <>
      <h2 id="sign-dialog-title" className="sign-title">
        {request.step
          ? t("signing.titleStep", { n: request.step.n, of: request.step.of })
          : t("signing.title")}
      </h2>
      <p id="sign-dialog-what" className="sign-what" data-testid="sign-what">
        {t(description.key, description.params)}
      </p>
      {!description.known ? (
        <p className="notice notice-warn">{t("signing.unknownWarning")}</p>
      ) : null}
      {shared.length > 0 ? (
        <div className="sign-shared">
          <h3>{t("signing.sharedTitle", { merchant: request.merchantName })}</h3>
          <dl className="fields" data-testid="sign-shared">
            {shared.map(([k, v]) => (
              <div className="field" key={k}>
                <dt>{t([`signing.shared.${k}`, `profile.fields.${k}`])}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          <p className="hint">
            {request.shared?.message ? t("signing.messageHint") : t("signing.sharedHint")}
          </p>
        </div>
      ) : null}
      <dl className="fields sign-facts">
        <div className="field">
          <dt>{t("signing.merchant")}</dt>
          <dd>
            {request.merchantName} <code className="muted">{command.merchant}</code>
          </dd>
        </div>
        <div className="field">
          <dt>{t("signing.key")}</dt>
          <dd>
            {t(`keys.kinds.${request.key.kind}`)}{" "}
            <code className="muted" title={command.actor}>
              {shorten(command.actor, 10)}
            </code>
          </dd>
        </div>
        <div className="field">
          <dt>{t("signing.expires")}</dt>
          <dd>
            <DateTime iso={command.expires} />
          </dd>
        </div>
      </dl>
      <p className="hint">{t("signing.proves")}</p>
      <details className="sign-exact">
        <summary>{t("signing.exact")}</summary>
        <pre className="code" data-testid="sign-exact">
          {JSON.stringify(command, null, 2)}
        </pre>
      </details>
      <div className="form-actions sign-actions">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => props.onDone(true)}
          data-testid="sign-confirm"
        >
          {request.key.kind === "passkey" ? t("signing.signPasskey") : t("signing.sign")}
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => props.onDone(false)}
          data-testid="sign-cancel"
        >
          {t("action.cancel")}
        </button>
      </div>
    </>
  );
}
