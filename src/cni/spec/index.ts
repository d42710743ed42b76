export * from './types.js';
export * from './version.js';
export * from './convert.js';
