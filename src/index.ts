export * from './errors.js';
export * from './message/index.js';
