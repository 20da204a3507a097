// Types of the "require" entry: the ES module's, as Node's require() returns its namespace.
export * from '../build/types/index.js';
