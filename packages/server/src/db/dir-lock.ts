import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * An exclusive claim on an embedded database directory. PGlite is one process's database: a
 * second process (another `patron start`, or `patron audit` beside a live node) would write
 * the same files unsynchronised, sign a second history with the same key, and corrupt both.
 * The claim is a file holding the owner's pid, created atomically; one left by a dead process
 * is taken over.
 */
export class DirectoryInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `another Patron process (pid ${pid}) is using the embedded database in ${dir}; stop it first (only one process may open an embedded database; if pid ${pid} is not Patron, delete ${dir}.lock)`,
    );
  }
}

// Claims this process holds: a second open in the same process is refused as well.
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Claims `dir` (creating its parent), or throws DirectoryInUseError. Returns the release. */
export function claimDirectory(dir: string): () => void {
  const path = `${resolve(dir)}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (held.has(path)) throw new DirectoryInUseError(resolve(dir), process.pid);
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(path);
      return () => {
        held.delete(path);
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new DirectoryInUseError(resolve(dir), pid);
    }
    // Left behind by a process that died (kill -9, power loss): take it over.
    rmSync(path, { force: true });
  }
  throw new Error(`cannot claim ${dir}: its lock file keeps reappearing`);
}
