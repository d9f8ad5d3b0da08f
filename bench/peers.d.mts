// Types of peers.mjs, for the tests that import it.

export function sipOptions(port: number, timeoutMs?: number): Promise<number>;
export function kamailioModuleDir(module: string): string | undefined;
export function kamailioArgs(options: {
  cfg: string;
  dir: string;
  runDir: string;
  moduleDir?: string;
}): string[];
export const PROXY_MODULES: string[];
export function proxyRequestRoute(initial: string[]): string[];
