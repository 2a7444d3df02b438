import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CREDITS_DATA_DIR } from './settings';

/**
 * The directory holding the project's package.json, found by walking up from this module.
 * The same code runs from TypeScript sources (tests, tsx) and from the compiled `dist/` tree,
 * which sit at different depths, so a fixed `../..` would be wrong in one of them.
 */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'rules'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${__dirname}`);
    dir = parent;
  }
}

/**
 * The directory for local state (the dev server's database, the embedded ledger, the running
 * main job's address file): `CREDITS_DATA_DIR`, else `.data` under the project root.
 */
export function dataDir(): string {
  const configured = CREDITS_DATA_DIR.read();
  return configured ? resolve(configured) : join(projectRoot(), '.data');
}
