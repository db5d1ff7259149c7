import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { CHROMIUM, haveBrowser, requireBrowser } from "../../server/src/test-support/chromium.js";

const webDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Says why a browser suite is skipped without chromium, and fails in its place when
 * PATRON_REQUIRE_BROWSER=1 (CI): a missing browser never passes as green.
 */
export function requireChromium(suite: string): void {
  if (!haveBrowser && !requireBrowser) {
    console.warn(
      `${suite} browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; set PATRON_REQUIRE_BROWSER=1 to make this a failure)`,
    );
  }
  describe.runIf(!haveBrowser && requireBrowser)(`${suite} in a browser`, () => {
    it("needs chromium", () => {
      throw new Error(
        `PATRON_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install it with apt-get install -y chromium`,
      );
    });
  });
}

/** Builds packages/web into `outDir` with the workspace's vite, as `npm run build` does. */
export function buildWeb(outDir: string): Promise<void> {
  const vite = join(
    dirname(createRequire(join(webDir, "package.json")).resolve("vite/package.json")),
    "bin/vite.js",
  );
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
      // vitest runs with NODE_ENV=test, which would build React's development bundle.
      {
        cwd: webDir,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_ENV: "production" },
      },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}
