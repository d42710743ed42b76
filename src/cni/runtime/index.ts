export { CniRuntime } from './runtime.js';
export { parseConfList, type LoadedList } from './config.js';
