/**
 * Progress bars (cli-progress) on stderr, so that stdout carries only results. Shown only
 * when both stdout and stderr are terminals and --quiet is not given: with stdout going to a
 * file or a pipe the run is a script's, whose stderr (often a log) wants no bar. Otherwise
 * every call is a no-op.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, payload: Record<string, string>): void;
  update(value: number, payload?: Record<string, string>): void;
  stop(): void;
}

const none: Progress = { start() {}, update() {}, stop() {} };

export function progressBar(format: string, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY || !process.stdout.isTTY) return none;
  const bar = new cliProgress.SingleBar({
    format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  return {
    start: (total, payload) => bar.start(total, 0, payload),
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}

/** "12.3 MB/s" from bytes and milliseconds. */
export const rate = (amount: number, ms: number, unit: string) => `${(amount / Math.max(ms, 1) / 1000).toFixed(1)} ${unit}/s`;

/**
 * A bar over the bytes of an input file (`label` then the bar, MB read and MB/s since
 * `started`), and the callback that openTable reports bytes read to.
 */
export function bytesBar(label: string, quiet: boolean, started: number): { bar: Progress; onBytes: (bytes: number) => void } {
  const bar = progressBar(`${label} [{bar}] {percentage}% | {mb} MB | {speed}`, quiet);
  const onBytes = (bytes: number) => bar.update(bytes, { mb: (bytes / 1e6).toFixed(0), speed: rate(bytes, performance.now() - started, 'MB') });
  return { bar, onBytes };
}
