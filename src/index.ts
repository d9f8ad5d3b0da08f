export * from './errors.js';
export * from './message/index.js';
export * from './resolver/index.js';
export * from './stack/index.js';
export * from './transaction/index.js';
export * from './transport/index.js';
