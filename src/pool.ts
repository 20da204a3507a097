/**
 * A pool of workers over one shared WebAssembly memory: worker_threads in Node, Web
 * Workers in browsers, and the calling thread where it may block. Each phase's calls are
 * split by output rows or columns (src/calls.ts), one contiguous chunk per thread. A
 * run's phases go to the threads as one job in a shared control block, with a barrier
 * after each phase (src/worker.ts): no locks (chunks never overlap), and at most one
 * message back per job, not one per phase and worker.
 */
import { partOf, type KernelName, type Phase } from './calls.js';
import {
  ABORTED, CONTROL_WORDS, MAX_PHASES, runPart, STOP, waitChange, WORD, WORKER_SOURCE, type Part, type WorkerInit, type WorkerMessage,
} from './worker.js';
import type { KernelExports } from './wasm.js';
// Types only (erased): the module itself is reached through process.getBuiltinModule,
// so no Node import exists in the bundle that browsers load.
import type * as WorkerThreads from 'node:worker_threads';

/** What the pool needs of a worker, the same in Node and in browsers. */
interface Port {
  post(message: unknown): void;
  /** Resolves once the worker runs no more code (Node: its exit; browsers: terminate() is immediate). */
  terminate(): Promise<void>;
  /** Node: whether the worker keeps the process alive (only while it has work). */
  keepAlive(on: boolean): void;
}

type Spawn = (onMessage: (m: WorkerMessage) => void, onDeath: (error: Error) => void) => Port;


let workerUrl: string | undefined;

const BLANK_WORKER_ERROR = 'the worker gave no reason (a page whose Content-Security-Policy lacks worker-src blob: refuses workers from a Blob URL; allow it with worker-src blob:)';

/** How this platform starts workers, or why it cannot. */
export function workerPlatform(): { spawn: Spawn } | { reason: string } {
  const g = globalThis as typeof globalThis & { process?: { getBuiltinModule?: (id: string) => unknown } };
  if (typeof SharedArrayBuffer !== 'function') {
    return { reason: 'SharedArrayBuffer is not available (a page must be cross-origin isolated: COOP same-origin and COEP require-corp)' };
  }
  if (typeof g.process?.getBuiltinModule === 'function') {
    const { Worker } = g.process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads;
    return {
      spawn: (onMessage, onDeath) => {
        const w = new Worker(WORKER_SOURCE.node, { eval: true });
        let dead = false;
        const die = (e: Error) => { if (!dead) { dead = true; onDeath(e); } };
        w.on('message', onMessage);
        w.on('error', die);
        w.on('exit', (code) => die(new Error(`worker exited with code ${code}`)));
        return {
          post: (m) => w.postMessage(m),
          terminate: () => { dead = true; return w.terminate().then(() => undefined); },
          keepAlive: (on) => (on ? w.ref() : w.unref()),
        };
      },
    };
  }
  if (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL?.createObjectURL === 'function') {
    if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
      return { reason: 'the page is not cross-origin isolated (serve it with COOP same-origin and COEP require-corp)' };
    }
    // One Blob URL per page, kept for the page's life: every pool's workers start from it.
    workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE.browser], { type: 'text/javascript' }));
    const url = workerUrl;
    return {
      spawn: (onMessage, onDeath) => {
        const w = new Worker(url);
        let dead = false;
        w.onmessage = (e) => onMessage(e.data as WorkerMessage);
        w.onerror = (e) => {
          e.preventDefault();
          // A worker that a Content-Security-Policy refuses fails with an event that says nothing.
          if (!dead) { dead = true; w.terminate(); onDeath(new Error(e.message || BLANK_WORKER_ERROR)); }
        };
        return { post: (m) => w.postMessage(m), terminate: () => { dead = true; w.terminate(); return Promise.resolve(); }, keepAlive: () => {} };
      },
    };
  }
  return { reason: 'this platform has no workers (Node ≥ 20.16 worker_threads or Web Workers)' };
}

/** Every kernel a call may name (a Record, so none is missed); a job refers to them by index. */
const KERNELS: Record<KernelName, true> = {
  gemm_nt_f32: true, gemm_nn_f32: true, gemm_tn_f32: true, gemm_nt_f32_scratch: true, gemm_nn_f32_scratch: true,
  gemm_tn_f32_scratch: true, colsum_f32: true, softmax_rows_f32: true, log_softmax_rows_f32: true,
  xent_index_rows_f32: true, xent_prob_rows_f32: true, exp_f32: true, tanh_f32: true, sgd_update_f32: true,
  sgd_momentum_update_f32: true, adam_update_f32: true, adamw_update_f32: true,
};
const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
const KERNEL_INDEX = Object.fromEntries(KERNEL_NAMES.map((name, i) => [name, i])) as Record<KernelName, number>;

/**
 * Float64 words of the job area (128 KiB): a phase of a step on 2 threads takes about 60
 * (16 more per thread), so a job holds up to MAX_PHASES phases on a few threads, fewer on
 * many; a run with more (the chunked path over many blocks) goes as several jobs.
 */
const JOB_WORDS = 16384;
const HEADER_BYTES = CONTROL_WORDS * 4;

/**
 * Chunks per thread in a phase. More would let the others take the share of a thread
 * that runs slow (woken late, or sharing its core), but each chunk is a call that packs its
 * own operands: at 128×512×1000 on 2 threads, 2 and 3 chunks per thread were 2% and 5%
 * slower than 1 (paired rounds, bench conditions). With one each, claiming still lets the
 * first thread to arrive start on the first chunk.
 */
const CHUNKS_PER_THREAD = 1;

/**
 * How long waits spin before they sleep. Between phases the other parts are usually
 * microseconds away, and a sleeping thread costs 50–250 µs to wake on a VM. After a job, a
 * short spin catches a next step that follows at once (8×4×8 steps: 36 µs a call against
 * 81 µs without) — only when the calling thread computes: with as many workers as
 * cores, spinning workers take the core it needs between jobs (the same steps took 346 µs
 * against 206 µs).
 */
const SPIN_BARRIER_MS = 1;
const SPIN_JOB_MS = 0.2;

/**
 * How long a barrier may wait after a thread arrived with no other arriving before the job
 * fails (a worker that stopped without an error, or that died where its exit event cannot
 * arrive). Every thread's chunk of a phase is the same work, so the others normally arrive
 * within a fraction of a chunk's time; 10 s is far past any lag seen on a loaded host.
 */
const STALL_MS = 10_000;
/**
 * A worker reports ready within milliseconds (it instantiates an already compiled module);
 * one that has not after this long will not (nested workers in Firefox 153 headless
 * sometimes never run), and init() falls back to one thread with a note saying so.
 */
const START_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether this thread may block in Atomics.wait (Node's main thread and workers: yes; a browser page: no). */
export function mayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0);
    return true;
  } catch {
    return false;
  }
}

interface Job {
  id: number;
  resolve(): void;
  reject(e: Error): void;
  /** The job ended while the Failed word named it: a failure message is still on its way. */
  endedBeforeMessage: boolean;
  failure: string | null;
}

class Slot {
  port!: Port;
  ready!: Promise<void>;
  started = false;
  /** Rejects `ready` (a no-op once the worker is ready). */
  fail!: (e: Error) => void;
}

/**
 * `parts` threads run each job: the workers, and the calling thread too when `caller`
 * (its kernels over the same memory) is given — where it may block (Node): it then runs
 * part 0 itself and waits on the count, so a job wakes one thread fewer and no message
 * comes back. On a browser page it only starts jobs and awaits the last worker's message.
 */
export class Pool {
  private readonly slots: Slot[] = [];
  private readonly control: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly words: Float64Array;
  private readonly callerPart: Part | null;
  private lastJob = 0;
  private current: Job | null = null;
  private disposed = false;
  /** The last job was aborted (a worker died in it, or it stalled): workers may still be in it. */
  private aborted = false;
  /** See STALL_MS; tests lower it. */
  stallMs = STALL_MS;
  /** See START_MS; tests lower it (before the workers start: pass it to the constructor). */
  readonly startMs: number;

  constructor(
    readonly parts: number,
    private readonly spawn: Spawn,
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    caller: KernelExports | null,
    startMs = START_MS,
  ) {
    this.startMs = startMs;
    this.control = new SharedArrayBuffer(HEADER_BYTES + JOB_WORDS * 8);
    this.ctl = new Int32Array(this.control, 0, CONTROL_WORDS);
    this.words = new Float64Array(this.control, HEADER_BYTES, JOB_WORDS);
    this.callerPart = caller && {
      ctl: this.ctl, words: this.words, word: WORD, index: 0, parts, spinBarrierMs: SPIN_BARRIER_MS, stallMs: STALL_MS,
      kernels: KERNEL_NAMES.map((name) => caller[name] as (...args: number[]) => void),
    };
    for (let i = 0; i < parts - (caller ? 1 : 0); i++) {
      const slot = new Slot();
      this.slots.push(slot);
      this.start(slot, i);
    }
  }

  /** Workers started (parts − 1 when the calling thread takes a part). */
  get size(): number {
    return this.slots.length;
  }

  /** Resolves when every worker has instantiated the module. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Runs the phases in order, each cut into chunks for the threads: as one job, or several when they do not fit. */
  async run(phases: Phase[]): Promise<void> {
    const words = this.words, chunks = this.parts === 1 ? 1 : this.parts * CHUNKS_PER_THREAD;
    let at = 1, count = 0;
    for (const phase of phases) {
      const encoded: number[][] = [];
      let size = 2 + chunks;
      for (let i = 0; i < chunks; i++) {
        const chunk = [0];
        for (const c of phase) {
          const args = partOf(c, i, chunks);
          if (!args) continue;
          chunk[0]++;
          chunk.push(KERNEL_INDEX[c.kernel], c.scratch, args.length, ...args);
        }
        encoded.push(chunk);
        size += chunk.length;
      }
      if (size > JOB_WORDS - 1) throw new Error('softmax-ce-wasm: a phase does not fit a job (a bug)');
      if (at + size > JOB_WORDS || count === MAX_PHASES) {
        await this.runJob(count);
        at = 1;
        count = 0;
      }
      words[at] = chunks;
      words[at + 1] = at + size;
      let c = at + 2 + chunks;
      encoded.forEach((chunk, i) => {
        words[at + 2 + i] = c;
        words.set(chunk, c);
        c += chunk.length;
      });
      at = c;
      count++;
    }
    if (count) await this.runJob(count);
  }

  /** Ends the workers; pending and later calls are rejected. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, WORD.job, STOP);
    Atomics.notify(this.ctl, WORD.job);
    for (const slot of this.slots) {
      slot.port.terminate();
      // A call waiting on a worker that is still starting (a replacement) fails too.
      slot.fail(new Error('softmax-ce-wasm: the pool was disposed'));
    }
    this.finish(new Error('softmax-ce-wasm: the pool was disposed'));
  }

  /** @internal For tests: makes worker `index` throw at the start of the next job, as a crash would. */
  crash(index: number): void {
    Atomics.store(this.ctl, WORD.crash, this.partIndex(index) + 1);
  }

  /** @internal For tests: makes worker `index` stop at the start of the next job without throwing (it blocks until terminated). */
  hang(index: number): void {
    Atomics.store(this.ctl, WORD.hang, this.partIndex(index) + 1);
  }

  /**
   * Resolves when no worker is in a job: at once after a job that ended, and after an
   * aborted one when every worker has left it; a worker that has not left it within
   * stallMs (it stopped) is terminated and replaced. Until then nothing may touch memory
   * that the job used: a survivor may still be in a kernel writing it.
   */
  async settled(): Promise<void> {
    const since = performance.now();
    while (this.aborted && !this.disposed) {
      const late = this.slots.filter((_, i) => Atomics.load(this.ctl, WORD.last + this.partIndex(i)) !== this.lastJob);
      if (late.length === 0) break;
      if (performance.now() - since > this.stallMs) {
        await Promise.all(late.map((slot) => this.replace(slot)));
        break;
      }
      await sleep(1);
    }
    this.aborted = false;
  }

  /** The part that worker `slot` runs (the calling thread, when it takes part, runs part 0). */
  private partIndex(slot: number): number {
    return this.callerPart ? slot + 1 : slot;
  }

  private async runJob(phases: number): Promise<void> {
    if (this.disposed) throw new Error('softmax-ce-wasm: the pool was disposed');
    // The last job was aborted: wait until the others have left it (they may still be in a
    // kernel). Otherwise a worker that is still storing its `last` word is harmless: it goes
    // on to wait for the job this starts.
    await this.settled();
    if (!this.slots.every((s) => s.started)) await this.ready();
    // dispose() may have run while this waited: its workers are gone and would never answer.
    if (this.disposed) throw new Error('softmax-ce-wasm: the pool was disposed');
    this.words[0] = phases;
    this.ctl.fill(0, WORD.claims, WORD.claims + phases);
    const id = this.lastJob = this.lastJob >= 0x7ffffff0 ? 1 : this.lastJob + 1;
    const done = new Promise<void>((resolve, reject) => {
      this.current = { id, resolve, reject, endedBeforeMessage: false, failure: null };
    });
    for (const slot of this.slots) slot.port.keepAlive(true);
    Atomics.store(this.ctl, WORD.arrived, 0);
    Atomics.store(this.ctl, WORD.job, id);
    // Every worker at once: waking one that wakes the next (a chain) left 2 workers at
    // 256×784×10 at 0.62 ms a step against 0.52 ms (bench interleaving, medians).
    Atomics.notify(this.ctl, WORD.job);
    if (this.callerPart) this.runCallerPart(id, phases);
    else this.watch(this.current!);
    return done;
  }

  /**
   * While workers alone run job `job`: fails it when a barrier has had a thread waiting
   * and no arrival for stallMs (the count is then not a multiple of the threads).
   */
  private watch(job: Job): void {
    let count = Atomics.load(this.ctl, WORD.arrived), since = performance.now();
    const tick = () => {
      if (this.current !== job) return;
      const now = Atomics.load(this.ctl, WORD.arrived);
      if (now !== count) [count, since] = [now, performance.now()];
      else if (count % this.parts !== 0 && performance.now() - since >= this.stallMs) return this.stall(job);
      setTimeout(tick, Math.min(100, this.stallMs / 4));
    };
    setTimeout(tick, Math.min(100, this.stallMs / 4));
  }

  /** Aborts job `job`, whose barrier waited stallMs for a thread: the others leave it at their next barrier. */
  private stall(job: Job): void {
    this.aborted = true;
    Atomics.store(this.ctl, WORD.abort, job.id);
    Atomics.add(this.ctl, WORD.arrived, ABORTED);
    Atomics.notify(this.ctl, WORD.arrived);
    this.finish(new Error(`softmax-ce-wasm: a thread did not reach a barrier within ${this.stallMs} ms of the others ` +
      '(a worker stopped); a worker that does not leave the call is replaced, and the call can be retried'));
  }

  /** Ends a worker that does not leave a job and starts another in its place. */
  private async replace(slot: Slot): Promise<void> {
    const index = this.slots.indexOf(slot);
    await slot.port.terminate();
    if (!this.disposed) this.start(slot, index);
  }

  /** The calling thread's part of job `id`, then a wait for the other parts. */
  private runCallerPart(id: number, phases: number): void {
    const job = this.current!, part = this.callerPart!;
    part.stallMs = this.stallMs;
    let ended = runPart(part, id, (message) => { job.failure ??= message; });
    if (ended !== 'aborted' && ended !== 'stalled') {
      const goal = this.parts * phases;
      for (let count = Atomics.load(this.ctl, WORD.arrived); count < goal;) {
        const next = waitChange(this.ctl, WORD.arrived, count, SPIN_BARRIER_MS, this.stallMs);
        if (next === count) {
          ended = 'stalled';
          break;
        }
        count = next;
      }
    }
    // A worker stopped: it would hold this thread forever (its exit event, if any, cannot
    // arrive while this thread blocks).
    if (ended === 'stalled' && Atomics.load(this.ctl, WORD.abort) !== id) return this.stall(job);
    // A worker died: its exit event rejects the job.
    if (Atomics.load(this.ctl, WORD.abort) === id) return;
    this.ended(job);
  }

  /** Every part has finished job `job`: it succeeded, or failed with the message (which may still be on its way). */
  private ended(job: Job): void {
    if (Atomics.load(this.ctl, WORD.failed) !== job.id) this.finish(null);
    else if (job.failure !== null) this.finish(new Error(`softmax-ce-wasm: a kernel failed: ${job.failure}`));
    else job.endedBeforeMessage = true;
  }

  /** Settles the job in flight, if any. */
  private finish(error: Error | null): void {
    const job = this.current;
    if (!job) return;
    this.current = null;
    for (const slot of this.slots) slot.port.keepAlive(false);
    if (error) job.reject(error);
    else job.resolve();
  }

  private onMessage(m: WorkerMessage): void {
    const job = this.current;
    if (m.type === 'ready' || !job || m.job !== job.id) return;
    if (m.type === 'done') this.ended(job);
    else {
      job.failure ??= m.message;
      if (job.endedBeforeMessage) this.ended(job);
    }
  }

  private start(slot: Slot, index: number): void {
    let ready: () => void, fail: (e: Error) => void;
    slot.started = false;
    slot.ready = new Promise<void>((resolve, reject) => { ready = resolve; fail = reject; });
    slot.ready.catch(() => undefined);
    slot.fail = (e) => fail(e);
    // A worker that never reports ready (seen with nested workers in Firefox 153 headless)
    // would leave init() — or, for a replacement, every later call — waiting forever.
    const timer = setTimeout(() => {
      if (!slot.started) fail(new Error(`softmax-ce-wasm: a worker did not start within ${this.startMs} ms`));
    }, this.startMs);
    (timer as { unref?: () => void }).unref?.();
    // A new worker has left every job so far; it waits for the next one.
    const seen = this.lastJob;
    Atomics.store(this.ctl, WORD.last + this.partIndex(index), seen);
    slot.port = this.spawn(
      (m) => {
        if (m.type === 'ready') {
          // Referenced only while a job runs, so that a Node process neither exits under a
          // pending call nor waits on an idle pool.
          if (!this.current) slot.port.keepAlive(false);
          slot.started = true;
          clearTimeout(timer);
          ready();
        }
        this.onMessage(m);
      },
      (error) => {
        if (!slot.started) {
          // One that dies before it is ready would die again: fail, rather than respawn forever.
          fail(new Error(`softmax-ce-wasm: a worker failed to start: ${error.message}`));
          return;
        }
        if (this.disposed) return;
        if (Atomics.load(this.ctl, WORD.crash) === this.partIndex(index) + 1) Atomics.store(this.ctl, WORD.crash, 0);
        // The other parts leave the job at their next barrier (a worker that throws lifts
        // the count itself; this covers one that ended otherwise); the call fails, and a
        // new worker takes this one's place for the next.
        if (this.current) {
          this.aborted = true;
          Atomics.store(this.ctl, WORD.abort, this.current.id);
          Atomics.add(this.ctl, WORD.arrived, ABORTED);
          Atomics.notify(this.ctl, WORD.arrived);
          this.finish(new Error(`softmax-ce-wasm: a worker died (${error.message}); it was replaced, the call can be retried`));
        }
        this.start(slot, index);
      },
    );
    const init: WorkerInit = {
      type: 'init', module: this.module, memory: this.memory, control: this.control, kernels: KERNEL_NAMES,
      word: WORD, stop: STOP, aborted: ABORTED, index: this.partIndex(index), parts: this.parts,
      postDone: !this.callerPart, jobOffset: HEADER_BYTES, jobWords: JOB_WORDS, seen,
      // Workers only: the calling thread needs a core between jobs (to copy, to prepare the next).
      spinBarrierMs: SPIN_BARRIER_MS, spinJobMs: this.callerPart ? SPIN_JOB_MS : 0,
    };
    slot.port.post(init);
  }
}
