import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// `npm run dev` serves the explorer with hot reload and sends API calls to a running node:
// `npm start` (port 8080) by default, or PATRON_NODE_URL.
const node = process.env.PATRON_NODE_URL || "http://127.0.0.1:8080";

/**
 * The customer portal is its own page (me.html), served for every path under /me, as the node
 * does (packages/server/src/http/web.ts): its client-side routes survive a reload in dev too.
 */
function portalPages(): Plugin {
  return {
    name: "patron-portal-pages",
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        const path = req.url?.split("?")[0] ?? "";
        if ((path === "/me" || path.startsWith("/me/")) && !path.includes(".")) {
          req.url = "/me.html";
        }
        next();
      });
    },
  };
}

export default defineConfig({
  root: here("."),
  plugins: [react(), portalPages()],
  resolve: {
    // From source, so building the explorer never waits on (or uses a stale) ledger dist.
    alias: {
      "@patron/ledger": here("../ledger/src/index.ts"),
      // The rule engine, recomputing awards in the portal: pure, no Node built-ins.
      "@patron/rules": here("../rules/src/index.ts"),
      // The LedgerAnchor ABI alone (the package's root also holds node-only code: anvil, deploy).
      "@patron/contracts/abi": here("../contracts/src/generated/LedgerAnchor.ts"),
    },
  },
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    // Auditors can read the verification code the page actually runs.
    sourcemap: true,
    // Two pages: the explorer and the console (index.html), and the customer portal (me.html),
    // which shares no chunk with them that it does not need.
    rolldownOptions: { input: { main: here("index.html"), me: here("me.html") } },
  },
  server: {
    proxy: { "/v1": node, "/health": node, "/docs": node, "/openapi.json": node },
  },
});
