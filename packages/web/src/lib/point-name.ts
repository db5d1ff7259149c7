// A programme names its points once, in the plural ("points", "stars", "beans"). Sentences that
// count them need the singular for one in English ("1 star"), and a sentence that starts with
// the name needs a capital ("Stars stay pending…"); languages without plurals or capitals
// (Chinese) keep the name as it is.

/** The English singular of a regular plural ("stars" → "star", "berries" → "berry"). */
function singularOf(name: string): string {
  const m = /^(.*\S)(\s*)$/.exec(name);
  const word = m?.[1] ?? name;
  const rest = m?.[2] ?? "";
  if (/[^aeiou]ies$/i.test(word))
    return `${word.slice(0, -3)}${word.endsWith("S") ? "Y" : "y"}${rest}`;
  // "miles", "points"; not "glass" nor "bonus", whose "s" is not a plural's.
  if (/[^su]s$/i.test(word)) return `${word.slice(0, -1)}${rest}`;
  return name;
}

/**
 * The programme's point name for `count` of them in `language`: its singular for exactly one in
 * English, the name as given otherwise.
 */
export function pointNameFor(name: string, count: number, language: string): string {
  if (count === 1 && language.toLowerCase().startsWith("en")) return singularOf(name);
  return name;
}

/** `text` with its first letter in capitals, as a sentence starts (a no-op in Chinese). */
export function capitalise(text: string, language: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return text;
  const head = String.fromCodePoint(first);
  return head.toLocaleUpperCase(language) + text.slice(head.length);
}
