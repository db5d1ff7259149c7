/**
 * Instants as integers. A rule never reads a clock: the time it is evaluated at is part of its
 * input (`time` in the context), and `timeContext` derives that part from an instant the
 * caller chose, with integer arithmetic only, so Node and every browser agree.
 */

const MS_PER_DAY = 86_400_000;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The date of a day number (days since 1970-01-01). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  return (
    daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) -
    daysFromCivil(year, month, 1)
  );
}

/** Earliest and latest instants accepted: years 0001 to 9999. */
export const MIN_INSTANT = daysFromCivil(1, 1, 1) * MS_PER_DAY;
export const MAX_INSTANT = daysFromCivil(10_000, 1, 1) * MS_PER_DAY - 1;

/**
 * Milliseconds since 1970-01-01T00:00:00Z of an RFC 3339 timestamp
 * (`2026-12-01T09:30:00Z`, `2026-12-01T17:30:00.250+08:00`), or undefined when it is not one:
 * uppercase T and Z, at most millisecond precision, no leap second, years 0001 to 9999.
 */
export function parseInstant(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0"));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[8] !== "Z") {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const t =
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offset) * 60 + second) * 1000 +
    ms;
  return t < MIN_INSTANT || t > MAX_INSTANT ? undefined : t;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `2026-12-01T09:30:00.000Z`: the UTC form of an instant. */
export function formatInstant(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const rest = ms - days * MS_PER_DAY;
  const h = Math.floor(rest / 3_600_000);
  const mi = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(rest % 1000, 3)}Z`;
}

/** The `time` part of a rule's context (a type, not an interface, so it is a JsonObject). */
export type TimeFacts = {
  /** Milliseconds since 1970-01-01T00:00:00Z: what validFrom and validUntil are compared with. */
  ms: number;
  /** The same instant in UTC, RFC 3339. */
  iso: string;
  /** Minutes east of UTC the local fields below are in (the merchant's time zone then). */
  offset: number;
  /** Local date, `YYYY-MM-DD` (compares as a string). */
  date: string;
  year: number;
  month: number;
  day: number;
  /** ISO weekday: 1 Monday … 7 Sunday. */
  weekday: number;
  hour: number;
  minute: number;
};

/**
 * The `time` part of a context for an instant (an RFC 3339 string or milliseconds since the
 * epoch), with local fields at `offsetMinutes` east of UTC (480 for UTC+8). The caller picks
 * the instant (the order's time); nothing here reads a clock.
 */
export function timeContext(instant: string | number, offsetMinutes = 0): TimeFacts {
  const ms = typeof instant === "number" ? instant : parseInstant(instant);
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < MIN_INSTANT || ms > MAX_INSTANT) {
    throw new RangeError(`not an instant: ${String(instant)}`);
  }
  if (!Number.isSafeInteger(offsetMinutes) || Math.abs(offsetMinutes) >= 24 * 60) {
    throw new RangeError(`not a UTC offset in minutes: ${offsetMinutes}`);
  }
  const local = ms + offsetMinutes * 60_000;
  const days = Math.floor(local / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const rest = local - days * MS_PER_DAY;
  return {
    ms,
    iso: formatInstant(ms),
    offset: offsetMinutes,
    date: `${pad(year, 4)}-${pad(month)}-${pad(day)}`,
    year,
    month,
    day,
    // 1970-01-01 was a Thursday (4).
    weekday: ((((days + 3) % 7) + 7) % 7) + 1,
    hour: Math.floor(rest / 3_600_000),
    minute: Math.floor((rest % 3_600_000) / 60_000),
  };
}
