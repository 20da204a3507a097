// What an app built with Vite writes: a bare import of the package.
import { init, reference } from 'softmax-ce-wasm';
import { publish } from './suite.js';

publish({ init, reference });
