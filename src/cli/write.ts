/**
 * Writing without losing anything:
 *   - an output may not be one of the command's inputs (the data, the model, the cache):
 *     compared by real path, so links and "./x" spellings count as the same file;
 *   - every output goes to a temporary file in the target's directory and is renamed over
 *     the target only once fully written and flushed — a full disk or an error partway
 *     leaves the old file as it was, and no temporary file behind;
 *   - stdout: writes wait for the pipe to drain (bounded memory); a reader that goes away
 *     (`… | head`, EPIPE) ends the command quietly.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError } from './errors.js';

/** The real path a file has or would have (its directory's real path and its name). */
export function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/** Refuses `out` when it is the same file as one of `inputs` (each with its role). */
export function refuseSame(option: string, out: string, inputs: [role: string, path: string][]): void {
  const target = realTarget(out);
  for (const [role, path] of inputs) {
    if (path !== '-' && realTarget(path) === target) {
      throw new CliError(`${option} '${out}' is the ${role} '${path}'; writing there would destroy it — choose another file`);
    }
  }
}

/** Temporary files being written, removed if the process is interrupted. */
const pending = new Set<string>();
export function removePending(): void {
  for (const path of pending) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  pending.clear();
}

/**
 * A file written through a temporary file in the same directory, renamed into place by
 * commit(). A link is followed: the file it points to is replaced, the link stays. A target
 * that exists and is not a regular file (/dev/null, a named pipe, /dev/stdout) is written
 * directly — renaming over it would replace the device or pipe itself.
 */
export class AtomicFile {
  readonly target: string;
  /** The temporary file, or null when writing straight to a device or pipe. */
  readonly temp: string | null;
  readonly #dest: string;
  #fd = -1;
  #chunks: string[] = [];
  #size = 0;

  constructor(target: string, readonly what: string) {
    this.target = target;
    let existing: Stats | null = null;
    try {
      existing = statSync(target);
    } catch {
      // a new file
    }
    const fail = (error: unknown): never => {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied'
        : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
      throw new CliError(`cannot write ${what} to '${target}': ${reason}`);
    };
    if (existing?.isDirectory()) fail({ code: 'EISDIR' });
    this.#dest = realTarget(target);
    if (existing && !existing.isFile()) {
      this.temp = null;
      try {
        this.#fd = openSync(target, 'w');
      } catch (error) {
        fail(error);
      }
      return;
    }
    this.temp = join(dirname(this.#dest), `.${basename(this.#dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      this.#fd = openSync(this.temp, 'wx', 0o644);
      // The replacement keeps the old file's permissions.
      if (existing) fchmodSync(this.#fd, existing.mode & 0o7777);
    } catch (error) {
      fail(error);
    }
    pending.add(this.temp!);
  }

  /** Buffers text and writes it out in blocks of about 1 MiB. */
  write(text: string): void {
    this.#chunks.push(text);
    this.#size += text.length;
    if (this.#size >= 1 << 20) this.#flush();
  }

  #flush() {
    if (this.#chunks.length === 0) return;
    const bytes = Buffer.from(this.#chunks.join(''));
    this.#chunks = [];
    this.#size = 0;
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.#fd, bytes, done, bytes.length - done);
    } catch (error) {
      this.abort();
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOSPC' ? 'no space left on the device' : code === 'EFBIG' ? 'file too large' : (error as Error).message;
      throw new CliError(`cannot write ${this.what} to '${this.target}': ${reason} (nothing was replaced)`);
    }
  }

  /** Flushes, syncs and renames the temporary file over the target. */
  commit(): void {
    this.#flush();
    try {
      if (this.temp === null) {
        closeSync(this.#fd);
        this.#fd = -1;
        return;
      }
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = -1;
      renameSync(this.temp, this.#dest);
      pending.delete(this.temp);
    } catch (error) {
      this.abort();
      throw new CliError(`cannot write ${this.what} to '${this.target}': ${(error as Error).message} (nothing was replaced)`);
    }
  }

  /** Removes the temporary file; the target stays as it was. */
  abort(): void {
    if (this.#fd >= 0) {
      try {
        closeSync(this.#fd);
      } catch {
        // closing is best effort here
      }
      this.#fd = -1;
    }
    if (this.temp === null) return;
    try {
      unlinkSync(this.temp);
    } catch {
      // already gone
    }
    pending.delete(this.temp);
  }
}

/** Thrown when stdout's reader has gone away: the command stops quietly. */
export class ClosedPipe extends Error {}

/** Text to stdout in blocks, waiting for the pipe to drain; EPIPE becomes ClosedPipe. */
export class StdoutSink {
  #chunks: string[] = [];
  #size = 0;
  #closed = false;

  constructor() {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.#closed = true;
    });
  }

  async write(text: string): Promise<void> {
    this.#chunks.push(text);
    this.#size += text.length;
    if (this.#size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#closed) throw new ClosedPipe();
    if (this.#chunks.length === 0) return;
    const text = this.#chunks.join('');
    this.#chunks = [];
    this.#size = 0;
    const ok = process.stdout.write(text);
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          process.stdout.off('drain', done);
          process.stdout.off('error', done);
          process.stdout.off('close', done);
          resolve();
        };
        process.stdout.on('drain', done);
        process.stdout.on('error', done);
        process.stdout.on('close', done);
      });
    }
    if (this.#closed) throw new ClosedPipe();
  }
}
