/** Running build/cli.js as users do, for the test/cli-*.test.ts files. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../build/cli.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh temporary directory (the caller removes it). */
export function workDir(): string {
  if (!existsSync(CLI)) throw new Error('build/cli.js is missing: run `npm run build` first');
  return mkdtempSync(join(tmpdir(), 'sce-cli-'));
}

/** `node build/cli.js …args` in `cwd`; `env` adds variables. */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, SCE_DEBUG: '', ...env }, maxBuffer: 256 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

/** A shell command line (for pipes and ulimit), with $CLI set to `node build/cli.js`. */
export function sh(cwd: string, script: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile('/bin/bash', ['-c', script], { cwd, env: { ...process.env, SCE_DEBUG: '', CLI: `${process.execPath} ${CLI}` } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

/** A failed run: exit code 1, one error line matching `message`, no stack trace, nothing on stdout. */
export function failed(run: Run, message: RegExp) {
  expect(run.stderr).toMatch(message);
  expect(run.code).toBe(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr.trim().split('\n').filter((l) => l.startsWith('softmax-ce-wasm:')).length).toBe(1);
  expect(run.stdout).toBe('');
}

/** CSV text: a header and rows of `d` features around one centre per class (learnable), labels `names`. */
export function blobsCsv(rows: number, d: number, names: string[], seed = 1, sep = ','): string {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = [[...Array.from({ length: d }, (_, j) => `f${j}`), 'label'].join(sep)];
  for (let i = 0; i < rows; i++) {
    const k = i % names.length;
    lines.push([...Array.from({ length: d }, (_, j) => ((j % names.length === k ? 3 : 0) + random()).toFixed(3)), names[k]].join(sep));
  }
  return lines.join('\n') + '\n';
}
