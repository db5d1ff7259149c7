import { useMemo } from "react";
import { useTranslation } from "react-i18next";

// What the join and rectification forms share: the languages offered and the birthday check,
// the node's rules (customers/profile.ts) checked before anything is signed.

const LANGUAGE_CODES = ["en", "zh-CN", "zh-TW", "fr", "de", "es", "it", "ja", "ko", "pt", "ar"];

/** A real calendar day, YYYY-MM-DD, from 1900 to today. */
export const realDate = (s: string) => {
  const d = new Date(`${s}T00:00:00Z`);
  return (
    !Number.isNaN(d.getTime()) &&
    d.toISOString().slice(0, 10) === s &&
    s >= "1900-01-01" &&
    d.getTime() <= Date.now()
  );
};

/** A language code (BCP 47) named in `language` ("en" → "English", in Chinese "英语"). */
export function languageName(code: string, language: string): string {
  try {
    return new Intl.DisplayNames([language], { type: "language" }).of(code) ?? code;
  } catch {
    return code; // not a well-formed code: shown as it is
  }
}

/** The language choices, named in the page's language; `current` is kept when not among them. */
export function useLanguageOptions(current?: string | null) {
  const { t, i18n } = useTranslation();
  return useMemo(() => {
    const names = new Intl.DisplayNames([i18n.language], { type: "language" });
    const codes =
      current && !LANGUAGE_CODES.includes(current) ? [...LANGUAGE_CODES, current] : LANGUAGE_CODES;
    return [
      { value: "", label: t("join.languageNone") },
      ...codes.map((c) => ({ value: c, label: names.of(c) ?? c })),
    ];
  }, [i18n.language, t, current]);
}
