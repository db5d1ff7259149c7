import { useEffect, useState } from "react";

/** The time now, read again every `everyMs` while the component is shown (countdowns). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Whole days, hours, minutes and seconds left until `until` (none below zero). */
export function timeLeft(until: number, now: number) {
  let s = Math.max(0, Math.floor((until - now) / 1000));
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  return { days, hours, minutes, seconds: s - minutes * 60, due: until <= now };
}
