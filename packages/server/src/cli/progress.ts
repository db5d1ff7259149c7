/** A progress bar on a terminal, a line every few seconds otherwise (CI logs stay readable). */
export function progressReporter(label: string, out: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let lastLine = 0;
  return {
    update(done: bigint, total: bigint) {
      const pct = total > 0n ? Number((done * 1000n) / total) / 10 : 100;
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0 ? Math.round(Number(done) / secs) : 0;
      if (out.isTTY) {
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        out.write(
          `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${pct.toFixed(1)}% ${done}/${total} (${rate}/s)`,
        );
      } else if (Date.now() - lastLine > 2000 || done === total) {
        lastLine = Date.now();
        out.write(`${label}: ${done}/${total} (${pct.toFixed(1)}%, ${rate}/s)\n`);
      }
    },
    done() {
      if (out.isTTY) out.write("\n");
    },
  };
}
