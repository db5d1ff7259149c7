#!/usr/bin/env node
// The CLI runs from the build (`npm run build`, which `npm install` runs too).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/run.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("patron: not built yet; run `npm run build` in the project root first");
  process.exit(2);
}
await import(entry.href);
