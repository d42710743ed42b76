export { CniRuntime, type CniRuntimeOptions, type RuntimeConf } from './runtime.js';
export { ResultCache, DEFAULT_CACHE_DIR, type CacheEntry } from './cache.js';
export { loadConfDir, loadConfFile, loadNetwork, parseConf, parseConfList, type LoadedList } from './config.js';
