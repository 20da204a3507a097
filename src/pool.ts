/**
 * A pool of workers over one shared WebAssembly memory: worker_threads in Node, Web
 * Workers in browsers. Each phase's calls are split by output rows (src/calls.ts), one
 * contiguous part per worker; a phase ends when every worker has reported. No locks:
 * parts never overlap, and control goes by message.
 */
import { partOf, type Phase } from './calls.js';
import { WORKER_SOURCE } from './wasm.js';
// Types only (erased): the module itself is reached through process.getBuiltinModule,
// so no Node import exists in the bundle that browsers load.
import type * as WorkerThreads from 'node:worker_threads';

type Message = { type: 'ready' } | { type: 'done'; id: number } | { type: 'failed'; id: number; message: string };

/** What the pool needs of a worker, the same in Node and in browsers. */
interface Port {
  post(message: unknown): void;
  terminate(): void;
  /** Node: whether the worker keeps the process alive (only while it has work). */
  keepAlive(on: boolean): void;
}

type Spawn = (onMessage: (m: Message) => void, onDeath: (error: Error) => void) => Port;


let workerUrl: string | undefined;

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
          terminate: () => { dead = true; void w.terminate(); },
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
        w.onmessage = (e) => onMessage(e.data as Message);
        w.onerror = (e) => {
          e.preventDefault();
          if (!dead) { dead = true; w.terminate(); onDeath(new Error(e.message || 'worker error')); }
        };
        return { post: (m) => w.postMessage(m), terminate: () => { dead = true; w.terminate(); }, keepAlive: () => {} };
      },
    };
  }
  return { reason: 'this platform has no workers (Node ≥ 20.16 worker_threads or Web Workers)' };
}

interface Pending {
  id: number;
  resolve(): void;
  reject(e: Error): void;
}

class Slot {
  port!: Port;
  ready!: Promise<void>;
  /** Rejects `ready` (a no-op once the worker is ready). */
  fail!: (e: Error) => void;
  pending: Pending | null = null;
}

export class Pool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private disposed = false;

  constructor(
    readonly size: number,
    private readonly spawn: Spawn,
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
  ) {
    for (let i = 0; i < size; i++) {
      const slot = new Slot();
      this.slots.push(slot);
      this.start(slot);
    }
  }

  /** Resolves when every worker has instantiated the module. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Runs the phases in order, each split over the workers. */
  async run(phases: Phase[]): Promise<void> {
    for (const phase of phases) {
      await Promise.all(this.slots.map((slot, part) => {
        const calls: unknown[][] = [];
        for (const c of phase) {
          const args = partOf(c, part, this.size);
          if (args) calls.push([c.kernel, ...args]);
        }
        return calls.length ? this.send(slot, calls) : undefined;
      }));
    }
  }

  /** Ends the workers; pending and later calls are rejected. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const slot of this.slots) {
      slot.port.terminate();
      // A call waiting on a worker that is still starting (a replacement) fails too.
      slot.fail(new Error('softmax-ce-wasm: the pool was disposed'));
      slot.pending?.reject(new Error('softmax-ce-wasm: the pool was disposed'));
      slot.pending = null;
    }
  }

  /** @internal For tests: makes worker `index` throw, as a crash would. */
  crash(index: number): void {
    this.slots[index].port.post({ type: 'crash' });
  }

  private start(slot: Slot): void {
    let ready: () => void, fail: (e: Error) => void, started = false;
    slot.ready = new Promise<void>((resolve, reject) => { ready = resolve; fail = reject; });
    slot.ready.catch(() => undefined);
    slot.fail = (e) => fail(e);
    slot.port = this.spawn(
      (m) => {
        if (m.type === 'ready') {
          // Referenced while it starts and while it has work, so that a Node process
          // neither exits under a pending call nor waits on an idle pool.
          if (!slot.pending) slot.port.keepAlive(false);
          started = true;
          ready();
        }
        else if (slot.pending && m.id === slot.pending.id) {
          const p = slot.pending;
          slot.pending = null;
          slot.port.keepAlive(false);
          if (m.type === 'done') p.resolve();
          else p.reject(new Error(`softmax-ce-wasm: a worker failed: ${m.message}`));
        }
      },
      (error) => {
        // A dead worker fails its pending call; a new one takes its place for the next.
        const p = slot.pending;
        slot.pending = null;
        p?.reject(new Error(`softmax-ce-wasm: a worker died (${error.message}); it was replaced, the call can be retried`));
        // One that dies before it is ready would die again: fail, rather than respawn forever.
        if (!started) fail(new Error(`softmax-ce-wasm: a worker failed to start: ${error.message}`));
        else if (!this.disposed) this.start(slot);
      },
    );
    slot.port.post({ type: 'init', module: this.module, memory: this.memory });
  }

  private async send(slot: Slot, calls: unknown[][]): Promise<void> {
    if (this.disposed) throw new Error('softmax-ce-wasm: the pool was disposed');
    await slot.ready;
    // dispose() may have run while this waited: its workers are gone and would never answer.
    if (this.disposed) throw new Error('softmax-ce-wasm: the pool was disposed');
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      slot.pending = { id, resolve, reject };
      slot.port.keepAlive(true);
      slot.port.post({ type: 'run', id, calls });
    });
  }
}
