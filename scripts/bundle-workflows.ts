/**
 * Prebundles the workflow code into dist/workflow-bundle.js (run by `npm run build`), so the
 * production worker starts without webpack and runs exactly the code that was built.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../infra/project-root';
import { WORKFLOW_BUNDLER_OPTIONS } from '../infra/workflow-bundler';

async function main(): Promise<void> {
  const root = projectRoot();
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(root, 'workflows', 'index.ts'),
    ...WORKFLOW_BUNDLER_OPTIONS,
    // webpack's per-module lines are noise in a build log; warnings and errors still show.
    logger: new DefaultLogger('WARN'),
  });
  const out = join(root, 'dist', 'workflow-bundle.js');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle-workflows: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
