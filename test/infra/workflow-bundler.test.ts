/**
 * The workflow code is compiled to WORKFLOW_CODE_TARGET, not the SDK's ES2017, in every bundle
 * made of it; and an SDK whose bundler no longer has the rule this sets fails the bundle loudly.
 */
import { describe, expect, it } from 'vitest';
import { WORKFLOW_CODE_TARGET, targetWorkflowCode } from '../../infra/workflow-bundler';
import { workflowBundle } from '../helpers/workflow-harness';

type Config = Parameters<typeof targetWorkflowCode>[0];

const swcRule = (target: string) => ({ test: /\.ts$/, use: { loader: '/x/node_modules/swc-loader/src/index.js', options: { jsc: { target } } } });

describe('the workflow bundle', () => {
  it('keeps object spread and optional chaining native (no ES2017 helpers)', async () => {
    const { code } = await workflowBundle();
    expect(code).toContain('accountCredits');
    expect(code).not.toContain('function _object_spread(');
    expect(code).not.toContain('function _object_spread_props(');
    // Class fields are still compiled (ES2022's define semantics would change declared fields).
    expect(code).toContain('function _define_property(');
  });

  it('sets the target on the SDK loader rule and leaves the others alone', () => {
    const other = { test: /\.js$/, enforce: 'pre' as const, use: ['source-map-loader'] };
    const config: Config = { module: { rules: [other, swcRule('es2017')] } };
    const out = targetWorkflowCode(config);
    expect(out.module?.rules?.[1]).toMatchObject({ use: { options: { jsc: { target: WORKFLOW_CODE_TARGET } } } });
    expect(out.module?.rules?.[0]).toBe(other);
  });

  it.each([
    ['no rules at all', {}, 0],
    ['no swc-loader rule', { module: { rules: [{ test: /\.ts$/, use: { loader: 'ts-loader', options: {} } }] } }, 0],
    ['two swc-loader rules', { module: { rules: [swcRule('es2017'), swcRule('es2017')] } }, 2],
  ])('refuses a bundler configuration with %s', (_name, config, found) => {
    expect(() => targetWorkflowCode(config as Config)).toThrow(`workflow bundler: expected the SDK's one swc-loader rule to set its target, found ${found}`);
  });
});
