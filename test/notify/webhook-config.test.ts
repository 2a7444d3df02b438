/**
 * The webhook endpoints file: YAML or JSON, every problem reported at once and named by
 * endpoint and field, secrets never quoted; endpoints filtered by event type and account.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWebhookConfig, subscribers, webhookEndpointsFromEnv, WebhookConfigError } from '../../notify/webhook-config';

const dir = mkdtempSync(join(tmpdir(), 'credits-webhooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'whsec_0123456789abcdef';

function problemsOf(text: string): readonly string[] {
  try {
    parseWebhookConfig(text, 'hooks.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookConfigError);
    expect((err as Error).message).not.toContain(SECRET);
    expect((err as Error).message).not.toContain('short');
    return (err as WebhookConfigError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('webhooks file', () => {
  it('reads YAML and JSON alike; the endpoint is named by its id, else its URL without credentials or query', () => {
    const yaml = `endpoints:\n  - id: crm\n    url: https://crm.example.com/hooks\n    secret: ${SECRET}\n    events: [alert.warning, tier.charged]\n    accounts: [acme]\n    giveUpAfter: 6h\n`;
    const json = JSON.stringify({ endpoints: [{ url: 'https://user:pw@hooks.example.com/in?token=t', secret: SECRET, events: ['effect.parked'] }] });
    const [crm] = parseWebhookConfig(yaml);
    const [other] = parseWebhookConfig(json);
    expect(crm?.name).toBe('crm');
    expect(other?.name).toBe('https://hooks.example.com/in');
    // Its own give-up span; absent, the worker's default.
    expect(crm?.giveUpAfterMs).toBe(6 * 3_600_000);
    expect(other?.giveUpAfterMs).toBeUndefined();
    const endpoints = [crm!, other!];
    expect(subscribers(endpoints, { type: 'alert.warning', accountId: 'acme' }).map((e) => e.name)).toEqual(['crm']);
    expect(subscribers(endpoints, { type: 'alert.warning', accountId: 'globex' })).toEqual([]);
    expect(subscribers(endpoints, { type: 'effect.parked', accountId: 'globex' }).map((e) => e.name)).toEqual(['https://hooks.example.com/in']);
  });

  it('reports every problem of every endpoint at once, never quoting a secret', () => {
    const problems = problemsOf(
      JSON.stringify({
        endpoints: [
          { url: 'ftp://x', secret: 'short', events: ['alert.warning'] },
          { url: 'https://ok.example.com', secret: SECRET, events: ['alert.maybe'], accounts: [], colour: 'red' },
          'not a mapping',
          { id: 'bad id!', url: 'https://ok.example.com', secret: SECRET, events: [] },
          { url: 'https://a.example.com', secret: SECRET, events: ['tier.charged'], giveUpAfter: '3 days' },
          { url: 'https://b.example.com', secret: SECRET, events: ['tier.charged'], giveUpAfter: 3600 },
          { url: 'https://c.example.com', secret: SECRET, events: ['tier.charged'], giveUpAfter: '31d' },
          { url: 'https://d.example.com', secret: SECRET, events: ['tier.charged'], giveUpAfter: '0m' },
          { url: 'https://x.test:0/', secret: SECRET, events: ['tier.charged'] },
        ],
      }),
    );
    expect(problems).toEqual([
      'endpoints[0].url must be an http:// or https:// URL',
      'endpoints[0].secret must be a string of at least 16 characters',
      'endpoints[1]: unknown field "colour" (known: id, url, secret, events, accounts, giveUpAfter)',
      'endpoints[1].events must be a non-empty list of alert.warning, alert.exhausted, tier.charged, effect.parked',
      'endpoints[1].accounts must be a non-empty list of account ids',
      'endpoints[2] must be a mapping',
      'endpoints[3].events must be a non-empty list of alert.warning, alert.exhausted, tier.charged, effect.parked',
      "endpoints[3].id must be 1 to 64 letters, digits, '.', '_' or '-'",
      ...[4, 5, 6, 7].map((i) => `endpoints[${i}].giveUpAfter must be a span such as 30m, 6h or 3d, from 1 minute to 30 days`),
      "endpoints[8].url has port 0, where nothing can listen; give the receiver's port",
    ]);
  });

  it('refuses a file that is not YAML, has no endpoints list, or names one endpoint twice', () => {
    expect(problemsOf('endpoints: [')[0]).toMatch(/^not valid YAML or JSON/);
    expect(problemsOf('hooks: []')).toEqual(['must be a mapping with an `endpoints` list']);
    expect(problemsOf('42')).toEqual(['must be a mapping with an `endpoints` list']);
    const twice = { url: 'https://a.example.com/x', secret: SECRET, events: ['tier.charged'] };
    expect(problemsOf(JSON.stringify({ endpoints: [twice, twice] }))).toEqual(['endpoints[1]: endpoint https://a.example.com/x is listed twice (give each an id)']);
  });

  it('reads the file named by CREDITS_WEBHOOKS_FILE; none when unset; a missing file is an error naming it', () => {
    const file = join(dir, 'hooks.json');
    writeFileSync(file, JSON.stringify({ endpoints: [{ url: 'http://127.0.0.1:9/in', secret: SECRET, events: ['tier.charged'] }] }));
    expect(webhookEndpointsFromEnv({})).toEqual([]);
    expect(webhookEndpointsFromEnv({ CREDITS_WEBHOOKS_FILE: file }).map((e) => e.url)).toEqual(['http://127.0.0.1:9/in']);
    const missing = join(dir, 'missing.yaml');
    expect(() => webhookEndpointsFromEnv({ CREDITS_WEBHOOKS_FILE: missing })).toThrow(`webhooks file ${missing}: cannot be read (ENOENT)`);
  });
});
