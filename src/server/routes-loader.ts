import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './config.js';
import type { Routes } from './server.js';

/**
 * Loads an operator's routes module (`--routes FILE`): TypeScript (.ts,
 * .mts, .cts, compiled on the fly) or JavaScript, whose default export (or
 * export named `routes`) is a function that rearranges the pipeline.
 */
export async function loadRoutes(file: string): Promise<Routes> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ConfigError(`routes: ${file} does not exist`);
  const url = pathToFileURL(abs).href;
  let mod: Record<string, unknown>;
  try {
    if (/\.[cm]?ts$/.test(abs)) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    } else {
      mod = (await import(url)) as Record<string, unknown>;
    }
  } catch (e) {
    throw new ConfigError(`routes: ${file} did not load: ${(e as Error).message}`);
  }
  let fn = mod.default ?? mod.routes;
  // A TypeScript module loaded as CommonJS puts its exports one level down.
  if (typeof fn === 'object' && fn !== null) fn = (fn as Record<string, unknown>).default;
  if (typeof fn !== 'function')
    throw new ConfigError(`routes: ${file} must export a function as its default export`);
  return fn as Routes;
}
