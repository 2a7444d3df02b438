/**
 * The README's settings table is the settings module's, row for row: a variable added,
 * renamed or re-defaulted in infra/settings.ts fails here until the README says so too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/project-root';
import { ALL_SETTINGS, CREDITS_TASK_QUEUE, DEFAULT_TEMPORAL_ADDRESS, settingsTable } from '../../infra/settings';
import { DEFAULT_TASK_QUEUE } from '../../workflows/messages';

const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

/** The README's table under "Running the worker": the block of lines starting with `|`. */
function readmeSettingsTable(): string {
  const section = readme.slice(readme.indexOf('## Running the worker'));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| Variable |'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end).join('\n');
}

describe('the README settings table', () => {
  it('is the one rendered from infra/settings.ts', () => {
    expect(readmeSettingsTable()).toBe(settingsTable());
  });

  it('names each variable once', () => {
    const names = ALL_SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('shows the defaults the code applies', () => {
    expect(CREDITS_TASK_QUEUE.shownDefault).toBe(`\`${DEFAULT_TASK_QUEUE}\``);
    expect(settingsTable()).toContain(`\`${DEFAULT_TEMPORAL_ADDRESS}\``);
  });
});
