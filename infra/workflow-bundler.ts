/**
 * How the workflow code is bundled: one setting for the prebuilt bundle (`npm run build`), the
 * worker that bundles from source, the test harness and the benchmarks, so every one of them
 * runs the same JavaScript.
 */
import type { BundleOptions } from '@temporalio/worker';

/**
 * The language level the workflow code is compiled to. The SDK's bundler compiles TypeScript to
 * ES2017, where every object spread becomes a helper call that defines each property one at a
 * time, and `?.`/`??` become longer expressions: the usage path spreads an answer per event, and
 * the helpers were about a tenth of the workflow thread's time in the intake benchmark. Node 20
 * runs ES2020 natively. ES2022 is not taken: its class fields have define semantics, which
 * would change what a declared-but-unset field does, and so the state a replay rebuilds.
 */
export const WORKFLOW_CODE_TARGET = 'es2020';

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];

/** What a rule's loader entry looks like where the SDK's bundler sets its swc-loader. */
interface LoaderUse {
  loader?: unknown;
  options?: { jsc?: { target?: unknown } };
}

/**
 * Sets {@link WORKFLOW_CODE_TARGET} on the SDK's swc-loader rule. Throws if the rule is not
 * there (an SDK upgrade changed its bundler): the code would otherwise silently run at the
 * SDK's level, and this module must be looked at again.
 */
export function targetWorkflowCode(config: WebpackConfig): WebpackConfig {
  let found = 0;
  for (const rule of config.module?.rules ?? []) {
    const use = rule && typeof rule === 'object' && 'use' in rule ? (rule.use as LoaderUse | undefined) : undefined;
    const jsc = use && typeof use.loader === 'string' && use.loader.includes('swc-loader') ? use.options?.jsc : undefined;
    if (jsc) {
      jsc.target = WORKFLOW_CODE_TARGET;
      found += 1;
    }
  }
  if (found !== 1) throw new Error(`workflow bundler: expected the SDK's one swc-loader rule to set its target, found ${found}`);
  return config;
}

/** The bundler options every bundle of the workflow code is made with. */
export const WORKFLOW_BUNDLER_OPTIONS = { webpackConfigHook: targetWorkflowCode } as const satisfies Pick<BundleOptions, 'webpackConfigHook'>;
