/**
 * What each worker of the pool runs, and the control block it shares with the pool.
 *
 * Control goes through shared memory, not messages: a message costs a wake-up of the
 * receiving thread (100–250 µs on a VM), and a step has several phases. The pool writes a
 * whole job (every phase's calls, worker by worker) into the control block and bumps JOB;
 * the workers run the phases, meeting at a barrier (a counter) after each, and the last
 * to finish the last phase posts one 'done' message. So a job costs one wake-up of each
 * thread, whatever its phase count. Waits spin briefly before they sleep (Atomics.wait),
 * since the other side usually answers within microseconds.
 */

/** Int32 indices in the control block. */
export const WORD = {
  /** Sequence number of the current job; the pool bumps it to start one, or sets STOP. */
  job: 0,
  /** Workers that have finished a phase of the current job (the barrier). */
  arrived: 1,
  /** The job that a worker's death aborted: survivors leave it at the next barrier (the pool lifts `arrived` past every goal). */
  abort: 2,
  /** The job in which a kernel threw (the message comes by message). */
  failed: 3,
  /** Test hook: worker (index + 1) throws at the start of the next job. */
  crash: 4,
  /** Per worker i, at last + i: the last job it has left. */
  last: 16,
} as const;

/** ctl[WORD.job] value that ends the workers' loop. */
export const STOP = -1;
/** Added to the barrier count to end an aborted job: more than any job's arrivals. */
export const ABORTED = 1 << 28;

/** A thread's view of the control block: what it needs to run its part of a job. */
export interface Part {
  ctl: Int32Array;
  /** This part's job area. */
  words: Float64Array;
  kernels: ((...args: number[]) => void)[];
  word: typeof WORD;
  /** How many parts a job has (the barrier's count per phase). */
  parts: number;
  spinBarrierMs: number;
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
  /** This worker's part of each job, and the number of parts. */
  index: number;
  parts: number;
  /** Whether the last part to finish posts 'done' (not when the calling thread takes part: it watches the count). */
  postDone: boolean;
  /** Byte offset and float64 length of each worker's job area in `control`. */
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
 * returns the new value. Runs in workers (and on a calling thread that may block).
 */
export function waitChange(ctl: Int32Array, i: number, value: number, spinMs: number): number {
  let v = Atomics.load(ctl, i);
  if (v !== value) return v;
  const until = performance.now() + spinMs;
  for (let n = 1; ; n++) {
    v = Atomics.load(ctl, i);
    if (v !== value) return v;
    if ((n & 63) === 0 && performance.now() > until) break;
  }
  do {
    Atomics.wait(ctl, i, value);
    v = Atomics.load(ctl, i);
  } while (v === value);
  return v;
}

/**
 * Runs one part of job `job`: its calls phase by phase, meeting the other parts at a
 * barrier after each. A job area holds the phase count, then per phase its call count,
 * then per call the kernel index, the argument count and the arguments (float64). A call
 * that throws is reported through `fail`; the part still meets every barrier, without
 * running its later calls. Returns whether this part finished the job last, or 'aborted'.
 */
export function runPart(part: Part, job: number, fail: (message: string) => void): boolean | 'aborted' {
  const { ctl, words, kernels, word, parts, spinBarrierMs } = part;
  let failed = false, at = 0;
  const phases = words[at++];
  for (let p = 0; p < phases; p++) {
    const calls = words[at++];
    for (let c = 0; c < calls; c++) {
      const kernel = words[at], argc = words[at + 1];
      at += 2;
      if (!failed) {
        try {
          kernels[kernel](...words.subarray(at, at + argc));
        } catch (e) {
          failed = true;
          fail(String((e as Error)?.message ?? e));
          Atomics.store(ctl, word.failed, job);
        }
      }
      at += argc;
    }
    const arrived = Atomics.add(ctl, word.arrived, 1) + 1, goal = parts * (p + 1);
    // Parts (and a calling thread waiting for the job's end) may sleep on the count.
    Atomics.notify(ctl, word.arrived);
    if (p === phases - 1) return arrived === goal;
    // The barrier: every part has finished phase p. An abort (a worker died) lifts the
    // count past any goal; then the job ends here.
    let count = arrived;
    while (count < goal) count = waitChange(ctl, word.arrived, count, spinBarrierMs);
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
      ctl, word, parts: init.parts, spinBarrierMs: init.spinBarrierMs,
      words: new Float64Array(init.control, init.jobOffset + index * init.jobWords * 8, init.jobWords),
      kernels: init.kernels.map((name) => exports[name] as (...args: number[]) => void),
    };
    post({ type: 'ready' });
    let seen = init.seen, job = seen;
    try {
      for (;;) {
        job = waitChange(ctl, word.job, seen, init.spinJobMs);
        if (job === init.stop) return;
        // The pool wakes one worker; it wakes the others (the pool's thread may still be
        // running then, and threads woken by it can end up queued on one core).
        Atomics.notify(ctl, word.job);
        seen = job;
        if (Atomics.load(ctl, word.crash) === index + 1) throw new Error('worker crashed on request');
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
