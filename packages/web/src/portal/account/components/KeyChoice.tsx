import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { passkeyBlocker, passkeyPreferred, passkeysSupported } from "../../keys/passkey.js";
import type { KeyKind } from "../../keys/store.js";

/**
 * Which key to sign with here: a passkey (preferred where the device has its own
 * authenticator: it survives the browser's storage being cleared) or a key derived from this
 * browser's root secret (kept safe by the backup file).
 */
export function useKeyChoice(): [KeyKind, (k: KeyKind) => void, boolean] {
  const supported = passkeysSupported();
  const [kind, setKind] = useState<KeyKind>("ed25519");
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    let live = true;
    passkeyPreferred().then((yes) => {
      if (live && yes && !touched) setKind("passkey");
    });
    return () => {
      live = false;
    };
  }, [touched]);
  return [
    kind,
    (k) => {
      setTouched(true);
      setKind(k);
    },
    supported,
  ];
}

export function KeyChoice(props: {
  value: KeyKind;
  onChange: (k: KeyKind) => void;
  supported: boolean;
  legend?: string;
}) {
  const { t } = useTranslation();
  const id = useId();
  const options: { kind: KeyKind; disabled: boolean }[] = [
    { kind: "passkey", disabled: !props.supported },
    { kind: "ed25519", disabled: false },
  ];
  return (
    <fieldset className="fieldset key-choice" data-testid="key-choice">
      <legend className="label">{props.legend ?? t("keys.choose")}</legend>
      {options.map((o) => (
        <div className="radio-row key-option" key={o.kind}>
          <input
            type="radio"
            id={`${id}-${o.kind}`}
            name={`${id}-kind`}
            value={o.kind}
            checked={props.value === o.kind}
            disabled={o.disabled}
            onChange={() => props.onChange(o.kind)}
            aria-describedby={`${id}-${o.kind}-hint`}
            data-testid={`key-kind-${o.kind}`}
          />
          <div>
            <label htmlFor={`${id}-${o.kind}`}>{t(`keys.kinds.${o.kind}`)}</label>
            <p className="hint" id={`${id}-${o.kind}-hint`}>
              {o.disabled
                ? passkeyBlocker() === "ip_address"
                  ? t("keys.passkeyOnIpAddress", { host: window.location.hostname })
                  : t("keys.passkeyUnavailable")
                : t(`keys.hints.${o.kind}`)}
            </p>
          </div>
        </div>
      ))}
    </fieldset>
  );
}
