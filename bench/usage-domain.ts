/**
 * Per-event cost of the domain's usage batch (a script, not a test), in plain Node and in a
 * V8 context of its own, as the workflow sandbox runs it: there every lookup of a global
 * (`Math`, `JSON`, `Date`, ...) goes through the context's interceptor, so code that is fast in
 * Node can be several times slower in the workflow. Hot paths bind the globals they use once
 * per module; this shows whether they still pay for it.
 *
 *   npm run bench:domain -- [--rounds 5] [--events 50000] [--batch 500] [--target es2020]
 *
 * `--target` is the language level the code is compiled to: the workflow bundle's
 * (infra/workflow-bundler.ts) by default; `es2017`, the SDK's own, shows what object-spread
 * helpers and the like cost.
 *
 * The domain code is bundled with esbuild (bench/usage-domain-entry.ts) and evaluated twice.
 */
import { build } from 'esbuild';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import vm from 'node:vm';
import { WORKFLOW_CODE_TARGET } from '../infra/workflow-bundler';
import { defaultRulesPath, loadRuleSet } from '../ruleset';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    events: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '500' },
    target: { type: 'string', default: WORKFLOW_CODE_TARGET },
  },
});
const [rounds, perRound, batch] = [values.rounds, values.events, values.batch].map(Number);
if (![rounds, perRound, batch].every((n) => Number.isSafeInteger(n) && (n ?? 0) >= 1)) {
  console.error('--rounds, --events and --batch must be positive integers');
  process.exit(2);
}

type Timer = (rules: unknown, rounds: number, perRound: number, batch: number) => number[];

async function main(): Promise<void> {
  const bundle = await build({
    entryPoints: [join(__dirname, 'usage-domain-entry.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'usageDomain',
    platform: 'neutral',
    write: false,
    target: values.target,
    logLevel: 'warning',
  });
  const code = bundle.outputFiles[0]?.text ?? '';
  const rules = loadRuleSet(defaultRulesPath()).at('2026-06-03T00:00:00Z');
  const inNode = (new vm.Script(`${code}; usageDomain.timeUsageBatches`).runInThisContext() as Timer)(rules, rounds ?? 1, perRound ?? 1, batch ?? 1);
  // A context as the SDK makes one for workflows (node:vm, microtasks after each evaluation).
  const context = vm.createContext({ performance, rulesJson: JSON.stringify(rules) }, { microtaskMode: 'afterEvaluate' });
  vm.runInContext(code, context);
  const inContext = vm.runInContext(`usageDomain.timeUsageBatches(JSON.parse(rulesJson), ${rounds}, ${perRound}, ${batch})`, context) as number[];
  const show = (list: number[]) => `${list.map((x) => x.toFixed(1)).join(' ')}  (best ${Math.min(...list).toFixed(1)})`;
  console.log(`usage batches of ${batch}, ${perRound} events a round, compiled to ${values.target}, µs per event:`);
  console.log(`  plain Node:         ${show(inNode)}`);
  console.log(`  a V8 context (vm):  ${show(inContext)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
