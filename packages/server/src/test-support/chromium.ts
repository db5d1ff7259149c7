import { existsSync } from "node:fs";

/**
 * Debian's Chromium for the browser tests, started the way this machine's closed network
 * needs: without these flags it keeps trying to reach Google's hosts at every start.
 */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const haveBrowser = existsSync(CHROMIUM);
/** CI sets PATRON_REQUIRE_BROWSER=1: a missing browser is then a failure, not a skip. */
export const requireBrowser = process.env.PATRON_REQUIRE_BROWSER === "1";
