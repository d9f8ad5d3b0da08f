#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Sockets and timers of a finished command must not keep the process alive.
setTimeout(() => process.exit(code), 100).unref();
