import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from "react";

// Five pages do not need a routing library: the History API and one event are enough, and the
// server answers every page path with index.html so deep links and reloads work.

const NAVIGATE = "patron:navigate";

function subscribe(onChange: () => void) {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  return { path: url.pathname.replace(/\/+$/, "") || "/", query: url.searchParams };
}

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === snapshot()) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE));
  if (!opts.replace) window.scrollTo(0, 0);
}

export type Route =
  | { page: "home" }
  | { page: "entries"; before?: number }
  | { page: "entry"; index: number }
  | { page: "verify" }
  | { page: "sign-in"; next?: string }
  | { page: "not-found" };

const INDEX = /^(0|[1-9][0-9]{0,15})$/;

export function match(loc: Location): Route {
  const { path, query } = loc;
  if (path === "/") return { page: "home" };
  if (path === "/verify") return { page: "verify" };
  if (path === "/sign-in") {
    const next = query.get("next");
    return next === null ? { page: "sign-in" } : { page: "sign-in", next };
  }
  if (path === "/entries") {
    const before = query.get("before");
    return before !== null && INDEX.test(before)
      ? { page: "entries", before: Number(before) }
      : { page: "entries" };
  }
  const m = /^\/entries\/([^/]+)$/.exec(path);
  if (m?.[1] && INDEX.test(m[1])) return { page: "entry", index: Number(m[1]) };
  return { page: "not-found" };
}

/** An <a> that navigates in place on a plain click and behaves like a link otherwise. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, href, ...rest } = props;
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (
      e.defaultPrevented ||
      e.button !== 0 ||
      e.metaKey ||
      e.ctrlKey ||
      e.shiftKey ||
      e.altKey ||
      props.target
    ) {
      return;
    }
    e.preventDefault();
    navigate(href);
  };
  return <a {...rest} href={href} onClick={click} />;
}
