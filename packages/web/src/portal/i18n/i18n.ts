import i18next from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en.js";
import { zhCN } from "./zh-CN.js";

// The portal's strings, one catalogue per language, as the console keeps them. The choice
// persists in this browser; without one, the browser's own language decides.

export const LANGUAGES = [
  { code: "en", label: "English" },
  { code: "zh-CN", label: "简体中文" },
] as const;
export type Language = (typeof LANGUAGES)[number]["code"];

const STORAGE_KEY = "patron.portal.language";

const isLanguage = (x: unknown): x is Language => LANGUAGES.some((l) => l.code === x);

function initialLanguage(): Language {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (isLanguage(saved)) return saved;
  } catch {
    // storage refused (private mode): the browser's language decides
  }
  return navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export const i18n = i18next.createInstance();

export function initI18n() {
  if (i18n.isInitialized) return i18n;
  const lng = initialLanguage();
  i18n.use(initReactI18next).init({
    resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
    lng,
    fallbackLng: "en",
    interpolation: { escapeValue: false },
    initAsync: false,
  });
  document.documentElement.lang = lng;
  return i18n;
}

export async function switchLanguage(next: Language) {
  await i18n.changeLanguage(next);
  document.documentElement.lang = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not persisted; the switch still holds for this page
  }
}
