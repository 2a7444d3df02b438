import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * The layers, lowest first. A file may import from its own layer and the layers below it,
 * never from one above: `infra` < `display` < `ruleset` < `domain` < `ledger`, `notify` <
 * `simulate` < `activities` < `workflows` < `client` < `cli`, `admin`, `api` < the worker, scripts and benchmarks.
 */
const LAYERS = ['infra', 'display', 'ruleset', 'domain', 'ledger', 'notify', 'simulate', 'activities', 'workflows', 'client', 'cli', 'api', 'admin'];
/** Folders that sit above every layer (and so may import any of them). */
const TOP = ['worker', 'scripts', 'bench', 'index'];

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'node:*'];

/** An import path into `folder` from a file one level down (`../folder`, `../folder/x`). */
const into = (folder) => `^\\.\\./${folder}(/.*)?$`;

/** What a file in `layer` may not import: every layer above it, and the top. */
function above(layer) {
  const rank = LAYERS.indexOf(layer);
  const higher = [...LAYERS.slice(rank + 1), ...TOP];
  return higher.map((folder) => ({ regex: into(folder), message: `${layer}/ sits below ${folder}/: imports run only downward (see eslint.config.mjs).` }));
}
/** Modules of `ruleset/` that the workflow bundle may hold: pure data and look-ups, no file system. */
const BUNDLE_SAFE_RULESET = ['types', 'catalog', 'instant'];
const rulesetBeyondBundle = {
  regex: `^\\.\\./ruleset(/(?!(${BUNDLE_SAFE_RULESET.join('|')})$).*)?$`,
  message: `Only ruleset/${BUNDLE_SAFE_RULESET.join(', ruleset/')} may enter the workflow bundle (the rest reads files).`,
};

const restrict = (patterns, paths = []) => ['error', { patterns, paths }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.venv/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'CallExpression[callee.object.name="it"][callee.property.name="only"]', message: 'No focused tests.' },
        { selector: 'CallExpression[callee.object.name="describe"][callee.property.name="only"]', message: 'No focused tests.' },
      ],
    },
  },
  // Layers: imports run only downward.
  ...['infra', 'ruleset', 'ledger', 'notify', 'simulate', 'activities', 'client', 'cli', 'admin', 'api'].map((layer) => ({
    files: [`${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': restrict(above(layer)) },
  })),
  {
    // How things are written for people is pure text: the workflow bundle and domain/ may use it.
    files: ['display/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [...above('display'), { regex: into('infra'), message: 'display/ is pure text: no files, processes or settings.' }],
        nodeBuiltins.map((name) => ({ name, message: 'display/ is pure text: no Node modules.' })),
      ),
    },
  },
  {
    // The credit math is pure: no Temporal, no Node, nothing that reads files.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [
          ...above('domain'),
          { regex: '^\\.\\./infra(/.*)?$', message: 'domain/ is pure: no files, processes or servers.' },
          rulesetBeyondBundle,
          { group: ['@temporalio/*'], message: 'domain/ is pure credit math: no Temporal imports.' },
        ],
        nodeBuiltins.map((name) => ({ name, message: 'domain/ is pure credit math: no Node modules.' })),
      ),
    },
  },
  {
    // Only what the workflow bundle may hold: deterministic code, no Node, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [
          ...above('workflows'),
          ...['infra', 'ledger', 'notify'].map((folder) => ({ regex: into(folder), message: `The workflow bundle may not hold ${folder}/ (it does I/O).` })),
          { regex: into('activities'), allowTypeImports: true, message: 'Workflows reach activities through proxyActivities: type imports only.' },
          rulesetBeyondBundle,
          { regex: '^@temporalio/(?!workflow$|common$).*', message: 'The workflow bundle holds only @temporalio/workflow and @temporalio/common.' },
        ],
        nodeBuiltins.map((name) => ({ name, message: 'The workflow bundle may not use Node modules.' })),
      ),
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
