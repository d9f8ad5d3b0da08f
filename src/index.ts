export * from './errors.js';
export * from './message/index.js';
export * from './transaction/index.js';
