import cliProgress from 'cli-progress';

/** A progress bar on a TTY (stderr); silent otherwise, so pipes and CI logs stay clean. */
export interface Progress {
  update(done: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(label: string, total: number, unit = 'items'): Progress {
  if (!process.stderr.isTTY || process.env.CI) {
    return { update() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  bar.start(Math.max(total, 1), 0, { rate: 0 });
  return {
    update(done, extra) {
      const secs = (Date.now() - t0) / 1000;
      bar.update(done, { rate: secs > 0 ? Math.round(done / secs) : 0, ...extra });
    },
    stop() {
      bar.stop();
    },
  };
}
