/**
 * Where a running main job can be reached. The embedded ledger serves one process, the main
 * job's, so other local tools (the CLI's usage export) ask the main job's admin server for
 * what they would otherwise read from the ledger themselves.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './process-alive';
import { dataDir } from './project-root';

/** What a running main job publishes about itself. */
export interface MainJobInfo {
  pid: number;
  adminUrl: string;
  temporalAddress: string;
}

/** The file a running main job publishes itself in. */
export function mainJobInfoPath(): string {
  return join(dataDir(), 'main-job.json');
}

/** Publish the running main job (called by the main job once its servers are up). */
export function writeMainJobInfo(info: MainJobInfo): void {
  writeFileSync(mainJobInfoPath(), `${JSON.stringify(info, null, 2)}\n`);
}

/** Withdraw the main job's file (at shutdown). */
export function removeMainJobInfo(): void {
  rmSync(mainJobInfoPath(), { force: true });
}

/** The main job running on this machine, if any (a file left by a crashed one is ignored). */
export function runningMainJob(): MainJobInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(mainJobInfoPath(), 'utf8')) as Partial<MainJobInfo>;
    if (typeof info.pid !== 'number' || typeof info.adminUrl !== 'string' || typeof info.temporalAddress !== 'string') return undefined;
    return isProcessAlive(info.pid) ? (info as MainJobInfo) : undefined;
  } catch {
    return undefined;
  }
}
