/**
 * Progress bars (cli-progress) on stderr, so that stdout carries only results: shown when
 * stderr is a terminal and --quiet is not given, else every call is a no-op.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, payload: Record<string, string>): void;
  update(value: number, payload?: Record<string, string>): void;
  stop(): void;
}

const none: Progress = { start() {}, update() {}, stop() {} };

export function progressBar(format: string, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) return none;
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
