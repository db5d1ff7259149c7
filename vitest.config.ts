import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from source, so `npm test` needs no build first.
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@patron/ledger": src("./packages/ledger/src/index.ts"),
      "@patron/rules": src("./packages/rules/src/index.ts"),
      "@patron/contracts/abi": src("./packages/contracts/src/generated/LedgerAnchor.ts"),
      "@patron/contracts": src("./packages/contracts/src/index.ts"),
    },
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only fight over them and over the PostgreSQL server.
    maxWorkers: 2,
  },
});
