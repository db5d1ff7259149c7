/**
 * The locale dates and times are written in: the browser's own variant of the page's language
 * (a browser set to en-GB writes "8 Dec 2026, 00:04", not the American "Dec 8, 2026, 12:04 AM"),
 * else the language itself.
 */
export function dateLocale(language: string): string {
  const primary = (tag: string) => tag.split("-")[0]?.toLowerCase();
  const own =
    typeof navigator === "undefined"
      ? undefined
      : (navigator.languages ?? [navigator.language]).find(
          (tag) => primary(tag) === primary(language),
        );
  return own ?? language;
}
