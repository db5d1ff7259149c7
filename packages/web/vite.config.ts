import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// `npm run dev` serves the explorer with hot reload and sends API calls to a running node:
// `npm start` (port 8080) by default, or PATRON_NODE_URL.
const node = process.env.PATRON_NODE_URL || "http://127.0.0.1:8080";

export default defineConfig({
  root: here("."),
  plugins: [react()],
  resolve: {
    // From source, so building the explorer never waits on (or uses a stale) ledger dist.
    alias: { "@patron/ledger": here("../ledger/src/index.ts") },
  },
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    // Auditors can read the verification code the page actually runs.
    sourcemap: true,
  },
  server: {
    proxy: { "/v1": node, "/health": node, "/docs": node, "/openapi.json": node },
  },
});
