// Bundled by bench/run.mjs with esbuild into build/bench/tfjs.cjs (see loadTf in
// bench/peers.mjs for why): tfjs-core with every gradient, the cpu and wasm backends.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
export { setWasmPaths, setThreadsCount, getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
export { version_cpu } from '@tensorflow/tfjs-backend-cpu';
