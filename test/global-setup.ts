/**
 * Runs once before the suite: fails early, with the set-up command to run, when the Temporal
 * binaries are missing. (`npm test` builds dist/ before vitest starts, for the tests that run
 * the compiled CLI and worker the way a user would.)
 */
import { temporalBinaryPath } from '../infra/temporal-binaries';

export default function setup(): void {
  temporalBinaryPath('temporal');
  temporalBinaryPath('temporal-test-server');
}
