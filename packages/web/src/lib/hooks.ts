import { useCallback, useEffect, useRef, useState } from "react";

export type Async<T> =
  /** `data` is the previous answer while a reload or (with keepPrevious) new inputs load. */
  | { state: "loading"; data?: T; error?: undefined }
  | { state: "ready"; data: T; error?: undefined }
  | { state: "error"; data?: T; error: unknown };

/** What a load depends on: plain values, compared by value. */
export type Dep = string | number | boolean | null | undefined;

interface Stored<T> {
  key: string;
  result: Async<T>;
}

export interface AsyncOptions<T> {
  /** Loads again every `pollMs` while the tab is visible, showing the previous data meanwhile. */
  pollMs?: number;
  /** Polls only while this holds for the latest data (e.g. until an anchor is confirmed). */
  pollWhile?: (data: T | undefined) => boolean;
  /** When `deps` change, keeps showing the previous data (state "loading") instead of nothing. */
  keepPrevious?: boolean;
}

/**
 * Runs `load` when `deps` change. An answer that arrives after a newer request started is
 * dropped, so a slow old answer never overwrites a new one. `reload()` loads again and reports
 * "loading" with the current data; polls load again quietly.
 */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: readonly Dep[],
  opts: AsyncOptions<T> = {},
): Async<T> & { reload: () => void } {
  const key = JSON.stringify(deps);
  const keep = opts.keepPrevious === true;
  const [stored, setStored] = useState<Stored<T> | undefined>(undefined);
  const seq = useRef(0);
  // The latest `load` closure, so a poll or reload uses the current props without restarting.
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(
    (k: string) => {
      const mine = ++seq.current;
      loadRef.current().then(
        (data) => {
          if (mine === seq.current) setStored({ key: k, result: { state: "ready", data } });
        },
        (error: unknown) => {
          if (mine !== seq.current) return;
          setStored((prev) => {
            const data = prev && (prev.key === k || keep) ? prev.result.data : undefined;
            return {
              key: k,
              result:
                data === undefined ? { state: "error", error } : { state: "error", data, error },
            };
          });
        },
      );
    },
    [keep],
  );

  useEffect(() => {
    run(key);
  }, [key, run]);

  let result: Async<T>;
  if (stored?.key === key) result = stored.result;
  else if (keep && stored?.result.data !== undefined) {
    result = { state: "loading", data: stored.result.data };
  } else result = { state: "loading" };

  const polling =
    opts.pollMs !== undefined && (opts.pollWhile === undefined || opts.pollWhile(result.data));
  const pollMs = polling ? opts.pollMs : undefined;
  useEffect(() => {
    if (pollMs === undefined) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") run(key);
    }, pollMs);
    return () => window.clearInterval(id);
  }, [key, pollMs, run]);

  const reload = useCallback(() => {
    setStored((prev) =>
      prev?.key === key ? { key, result: { state: "loading", data: prev.result.data } } : prev,
    );
    run(key);
  }, [key, run]);

  return { ...result, reload };
}

export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Patron ledger explorer` : "Patron ledger explorer";
  }, [title]);
}
