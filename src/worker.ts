/**
 * What each worker of the pool runs, and the control block it shares with the pool.
 *
 * Control goes through shared memory, not messages: a message costs a wake-up of the
 * receiving thread (100–250 µs on a VM), and a step has several phases. The pool writes a
 * whole job (every phase, cut into chunks) into the control block and bumps `job`; the
 * threads claim a phase's chunks from a counter (the first to arrive takes the first; a
 * thread that finds none left goes on), meet at a barrier (another counter) after each
 * phase, and the last to finish posts one 'done' message, or, when the calling thread
 * takes part, it sees the count. So a job costs one wake-up of each thread,
 * whatever its phase count. Waits spin briefly before they sleep (Atomics.wait), since
 * the other side usually answers within microseconds.
 */

/** Int32 indices in the control block. */
export const WORD = {
  /** Sequence number of the current job; the pool bumps it to start one, or sets STOP. */
  job: 0,
  /** Threads that have finished a phase of the current job (the barrier). */
  arrived: 1,
  /** The job that a worker's death aborted: survivors leave it at the next barrier (the pool lifts `arrived` past every goal). */
  abort: 2,
  /** The job in which a kernel threw (the message comes by message). */
  failed: 3,
  /** Test hook: worker (index + 1) throws at the start of the next job. */
  crash: 4,
  /** Test hook: worker (index + 1) stops at the start of the next job, without throwing (it blocks until terminated). */
  hang: 5,
  /** Per thread i, at last + i: the last job it has left (up to 256 threads). */
  last: 16,
  /** Per phase p of a job, at claims + p: chunks claimed so far. */
  claims: 272,
} as const;

/** Phases per job at most (one claim counter each). */
export const MAX_PHASES = 240;
/** Int32 words of the control block before the job area. */
export const CONTROL_WORDS = WORD.claims + MAX_PHASES;

/** ctl[WORD.job] value that ends the workers' loop. */
export const STOP = -1;
/** Added to the barrier count to end an aborted job: more than any job's arrivals. */
export const ABORTED = 1 << 28;

/** A thread's view of the control block: what it needs to take part in a job. */
export interface Part {
  ctl: Int32Array;
  /** The job area. */
  words: Float64Array;
  kernels: ((...args: number[]) => void)[];
  word: typeof WORD;
  /** This thread's index: its scratch region, and its `last` word. */
  index: number;
  /** How many threads take part (the barrier's count per phase). */
  parts: number;
  spinBarrierMs: number;
  /**
   * How long a barrier wait may see no other thread arrive before runPart gives up with
   * 'stalled' (the calling thread: a worker that stopped would hold it forever); Infinity
   * for workers, which an abort always releases.
   */
  stallMs: number;
}

/** The message that starts a worker. */
export interface WorkerInit {
  type: 'init';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** Kernel export names; a job refers to them by index. */
  kernels: string[];
  word: typeof WORD;
  stop: number;
  aborted: number;
  /** This worker's thread index, and the number of threads that take part in a job. */
  index: number;
  parts: number;
  /** Whether the last part to finish posts 'done' (not when the calling thread takes part: it watches the count). */
  postDone: boolean;
  /** Byte offset and float64 length of the job area in `control`. */
  jobOffset: number;
  jobWords: number;
  /** The job sequence number at start (a replacement must not run the job in flight). */
  seen: number;
  /** How long a wait spins before it sleeps, in ms: at a barrier, and for the next job. */
  spinBarrierMs: number;
  spinJobMs: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; job: number }
  | { type: 'failed'; job: number; message: string };

/**
 * Waits until ctl[i] is no longer `value`, spinning up to `spinMs` and then sleeping, and
 * returns the new value — or `value` itself when `timeoutMs` pass first (Infinity: never).
 * Runs in workers (and on a calling thread that may block).
 */
export function waitChange(ctl: Int32Array, i: number, value: number, spinMs: number, timeoutMs = Infinity): number {
  let v = Atomics.load(ctl, i);
  if (v !== value) return v;
  const start = performance.now(), until = start + spinMs, deadline = start + timeoutMs;
  for (let n = 1; ; n++) {
    v = Atomics.load(ctl, i);
    if (v !== value) return v;
    if ((n & 63) === 0 && performance.now() > until) break;
  }
  do {
    const left = deadline - performance.now();
    if (left <= 0) return value;
    Atomics.wait(ctl, i, value, left);
    v = Atomics.load(ctl, i);
  } while (v === value);
  return v;
}

/**
 * Takes part in job `job`: phase by phase, claims chunks and runs their calls, then meets
 * the other threads at a barrier. The job area holds the phase count, then per phase its
 * chunk count K, the index just past the phase, and K chunk offsets; a chunk holds its call
 * count, then per call the kernel index, the index of its scratch pointer among the
 * arguments (−1: none; this thread's region is `index` regions on), the argument count
 * and the arguments (all float64). A call that throws is reported through `fail`; the
 * thread still meets every barrier, without running later calls. Returns whether this
 * thread finished the job last, 'aborted', or 'stalled' (a barrier saw no arrival for
 * part.stallMs; the thread has left the job, and the caller must abort it).
 */
export function runPart(part: Part, job: number, fail: (message: string) => void): boolean | 'aborted' | 'stalled' {
  const { ctl, words, kernels, word, index, parts, spinBarrierMs, stallMs } = part;
  let failed = false;
  const phases = words[0];
  for (let p = 0, at = 1; p < phases; p++) {
    const chunks = words[at], end = words[at + 1];
    for (let i = Atomics.add(ctl, word.claims + p, 1); i < chunks && !failed; i = Atomics.add(ctl, word.claims + p, 1)) {
      let c = words[at + 2 + i];
      for (let calls = words[c++]; calls > 0; calls--) {
        const kernel = words[c], scratch = words[c + 1], argc = words[c + 2];
        const args = Array.from(words.subarray(c + 3, c + 3 + argc));
        c += 3 + argc;
        if (scratch >= 0) args[scratch] += index * args[scratch + 1];
        try {
          kernels[kernel](...args);
        } catch (e) {
          failed = true;
          fail(String((e as Error)?.message ?? e));
          Atomics.store(ctl, word.failed, job);
          break;
        }
      }
    }
    at = end;
    const arrived = Atomics.add(ctl, word.arrived, 1) + 1, goal = parts * (p + 1);
    // Threads (and a calling thread waiting for the job's end) may sleep on the count.
    Atomics.notify(ctl, word.arrived);
    if (p === phases - 1) return arrived === goal;
    // The barrier: every thread has finished phase p. An abort (a worker died) lifts the
    // count past any goal; then the job ends here.
    for (let count = arrived; count < goal;) {
      const next = waitChange(ctl, word.arrived, count, spinBarrierMs, stallMs);
      if (next === count) return 'stalled';
      count = next;
    }
    if (Atomics.load(ctl, word.abort) === job) return 'aborted';
  }
  return false;
}

/**
 * The worker's program. It is sent as source text (Function.prototype.toString), with
 * waitChange and runPart: it must use nothing else from outside itself; all it needs
 * comes in `init`.
 */
function serve(post: (m: WorkerMessage) => void, listen: (f: (m: WorkerInit) => void) => void): void {
  listen((init) => {
    const exports = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
    const ctl = new Int32Array(init.control), { word, index } = init;
    const part: Part = {
      ctl, word, index, parts: init.parts, spinBarrierMs: init.spinBarrierMs, stallMs: Infinity,
      words: new Float64Array(init.control, init.jobOffset, init.jobWords),
      kernels: init.kernels.map((name) => exports[name] as (...args: number[]) => void),
    };
    post({ type: 'ready' });
    let seen = init.seen, job = seen;
    try {
      for (;;) {
        job = waitChange(ctl, word.job, seen, init.spinJobMs);
        if (job === init.stop) return;
        seen = job;
        if (Atomics.load(ctl, word.crash) === index + 1) throw new Error('worker crashed on request');
        if (Atomics.load(ctl, word.hang) === index + 1) {
          Atomics.store(ctl, word.hang, 0);
          const never = new Int32Array(new SharedArrayBuffer(4));
          for (;;) Atomics.wait(never, 0, 0);
        }
        const last = runPart(part, job, (message) => post({ type: 'failed', job, message }));
        if (last === true && init.postDone) post({ type: 'done', job });
        Atomics.store(ctl, word.last + index, job);
      }
    } catch (e) {
      // Dying: the other parts must not wait for this one at a barrier.
      Atomics.store(ctl, word.abort, job);
      Atomics.add(ctl, word.arrived, init.aborted);
      Atomics.notify(ctl, word.arrived);
      throw e;
    }
  });
}

/** The worker's script, for Node's worker_threads (eval) and for Web Workers (a Blob URL). */
const WORKER_BODY = `${waitChange.toString()}
${runPart.toString()}
const serve = ${serve.toString()};`;
export const WORKER_SOURCE = {
  // getBuiltinModule, not require: the worker may run as ESM (node --input-type=module).
  node: `${WORKER_BODY}
const { parentPort } = process.getBuiltinModule('node:worker_threads');
serve((m) => parentPort.postMessage(m), (f) => parentPort.once('message', f));`,
  browser: `${WORKER_BODY}
serve((m) => self.postMessage(m), (f) => { self.onmessage = (e) => f(e.data); });`,
};
