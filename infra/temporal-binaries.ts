import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { projectRoot } from './project-root';
import { TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH, type Setting } from './settings';

/** Which Temporal binary is wanted: the CLI (dev server) or the Java SDK's time-skipping test server. */
export type TemporalBinary = 'temporal' | 'temporal-test-server';

const ENV_OVERRIDE: Record<TemporalBinary, Setting<string | undefined>> = {
  temporal: TEMPORAL_CLI_PATH,
  'temporal-test-server': TEMPORAL_TEST_SERVER_PATH,
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of a Temporal binary. The SDK would download these from the internet, which this
 * project's machines cannot reach, so they come from PyPI wheels installed into `.venv` by
 * `scripts/setup.sh`. An explicit override (`TEMPORAL_CLI_PATH`, `TEMPORAL_TEST_SERVER_PATH`)
 * wins, then the project's `.venv`, then the binary on `PATH`.
 *
 * @throws Error naming the set-up command when the binary is nowhere to be found.
 */
export function temporalBinaryPath(binary: TemporalBinary): string {
  const override = ENV_OVERRIDE[binary].read();
  if (override) {
    if (!isExecutable(override)) {
      throw new Error(`${ENV_OVERRIDE[binary].name}=${override} is not an executable file`);
    }
    return override;
  }
  const candidates = [join(projectRoot(), '.venv', 'bin', binary)];
  // PATH is the system's search path, not one of the engine's settings.
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir) candidates.push(join(dir, binary));
  }
  const found = candidates.find(isExecutable);
  if (!found) {
    throw new Error(`${binary} not found in .venv/bin or on PATH: run "bash scripts/setup.sh" first`);
  }
  return found;
}
