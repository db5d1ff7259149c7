import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The package runs in the server, in browsers and in audit, and must give the same answer in
// each: its sources read no clock, no randomness, no environment, and import nothing of Node.
const SRC = fileURLToPath(new URL(".", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(`${dir}${e.name}/`)
      : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
        ? [`${dir}${e.name}`]
        : [],
  );
}

describe("sources", () => {
  const files = sources(SRC);

  it("are found", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((f) => [f.slice(SRC.length), f]))(
    "%s reads no clock, randomness or Node API",
    (_, file) => {
      const text = readFileSync(file, "utf8");
      for (const banned of [
        /from "node:/,
        /\bprocess\./,
        /Date\.now/,
        /new Date\(/,
        /performance\.now/,
        /Math\.random/,
        /crypto\.getRandomValues/,
        /\brequire\(/,
        /\beval\(/,
        /new Function\(/,
      ]) {
        expect(text).not.toMatch(banned);
      }
    },
  );
});
