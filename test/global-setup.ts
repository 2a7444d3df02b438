/**
 * Runs once before the suite: checks the Temporal binaries are installed and compiles the
 * sources to dist/ (incrementally), because some tests run the real `credits` CLI and the
 * production worker the way a user would, from the compiled output.
 */
import { execFileSync } from 'node:child_process';
import { temporalBinaryPath } from '../infra/temporal-binaries';

export default function setup(): void {
  temporalBinaryPath('temporal');
  temporalBinaryPath('temporal-test-server');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
