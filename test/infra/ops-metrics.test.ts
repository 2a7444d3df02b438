/**
 * The metrics plumbing without servers around it: what the ledger activity counts from a
 * batch, what the client counts from answers, and what a scrape serves when the Temporal
 * SDK's exporter does not answer. (test/worker/metrics.test.ts scrapes the real processes.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../infra/project-root';
import { countLedgerWrite, countParkedEffect } from '../../activities/activity-metrics';
import { observeUpdate } from '../../client/client-metrics';
import type { LedgerEntry } from '../../domain/effects';
import { ENGINE_REGISTRY, clientUsageAnswers, effectsParked, outboxLag, usageAdmitted, usageRefused } from '../../infra/metrics';
import { fetchPrometheusText, startOpsListener } from '../../infra/ops-http';

async function value(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, labels: Record<string, string>, metricName?: string): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((v) => (metricName === undefined || v.metricName === metricName) && Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

function entry(seq: number, extra: Partial<LedgerEntry>): LedgerEntry {
  return { entryId: `ops-acct:e:${seq}`, accountId: 'ops-acct', seq, at: '2026-01-01T00:00:00.000Z', kind: 'usage', cycleIndex: 0, credits: 0, balanceAfter: 10, rulesVersion: 'v', ...extra };
}

describe('the ledger activity counts', () => {
  it('admitted and refused usage by feature and reason, leaves parked entries out and counts them as parked', async () => {
    const before = {
      admitted: await value(usageAdmitted, { feature: 'ops-feature' }),
      refused: await value(usageRefused, { feature: 'ops-feature', reason: 'credits_exhausted' }),
      parked: await value(effectsParked, { type: 'ledger' }),
      lagSum: await value(outboxLag, {}, 'credits_outbox_lag_seconds_sum'),
    };
    const entries = [
      entry(1, { feature: 'ops-feature', decision: 'accepted', credits: 4 }),
      entry(2, { feature: 'ops-feature', decision: 'accepted', credits: 1 }),
      entry(3, { feature: 'ops-feature', decision: 'rejected', reason: 'credits_exhausted' }),
      entry(4, { kind: 'grant', credits: 100 }),
    ];
    countLedgerWrite(entries, { written: 3, refused: [{ entryId: 'ops-acct:e:2', error: 'bad text' }] }, 0.01, Date.parse('2026-01-01T00:00:30.000Z'));
    expect(await value(usageAdmitted, { feature: 'ops-feature' })).toBe(before.admitted + 1);
    expect(await value(usageRefused, { feature: 'ops-feature', reason: 'credits_exhausted' })).toBe(before.refused + 1);
    expect(await value(effectsParked, { type: 'ledger' })).toBe(before.parked + 1);
    // The oldest entry of the batch waited 30 s.
    expect(await value(outboxLag, {}, 'credits_outbox_lag_seconds_sum')).toBeCloseTo(before.lagSum + 30, 6);
  });

  it('an empty or malformed batch counts its write and nothing else', () => {
    expect(() => countLedgerWrite([], { written: 0 }, 0.001)).not.toThrow();
    expect(() => countLedgerWrite(null as unknown as LedgerEntry[], { written: 0 }, 0.001)).not.toThrow();
  });

  it('a charge or alert is counted as parked only when its failure is for good', async () => {
    const before = await value(effectsParked, { type: 'charge' });
    countParkedEffect('charge', new Error('database down'));
    countParkedEffect('charge', { nonRetryable: false });
    expect(await value(effectsParked, { type: 'charge' })).toBe(before);
    countParkedEffect('charge', { nonRetryable: true });
    expect(await value(effectsParked, { type: 'charge' })).toBe(before + 1);
  });
});

describe('the client counts', () => {
  it('each batch answer once, invalid events under one label whatever feature they named', async () => {
    const invalidBefore = await value(clientUsageAnswers, { feature: 'invalid', outcome: 'invalid', reason: 'UnknownFeature' });
    const input = { events: [{ feature: 'no-such-feature-xyz', quantity: 1, idempotencyKey: 'k1' }] };
    const result = { results: [{ accepted: false, reason: 'invalid_event', code: 'UnknownFeature', message: 'unknown feature', credits: 0, balance: 1, duplicate: false }] };
    observeUpdate('recordUsageBatch', process.hrtime.bigint(), input, result, false);
    expect(await value(clientUsageAnswers, { feature: 'invalid', outcome: 'invalid', reason: 'UnknownFeature' })).toBe(invalidBefore + 1);
    expect(await value(clientUsageAnswers, { feature: 'no-such-feature-xyz' })).toBe(0);
  });

  it('never fails the caller on an answer of an unexpected shape', () => {
    expect(() => observeUpdate('recordUsageBatch', process.hrtime.bigint(), { events: [] }, { nothing: true }, false)).not.toThrow();
    expect(() => observeUpdate('recordUsage', process.hrtime.bigint(), null, null, false)).not.toThrow();
  });
});

describe('the ops listener', () => {
  it('serves the engine series with an up=0 gauge when the SDK exporter does not answer, and 404s other paths', async () => {
    const closed = await startOpsListener({ server: 'worker', port: 0, checks: [] });
    const deadUrl = `${closed.url}/metrics`;
    await closed.close();
    expect(await fetchPrometheusText(deadUrl, 500)).toMatch(/^credits_temporal_runtime_metrics_up 0$/m);

    const ops = await startOpsListener({ server: 'worker', port: 0, checks: [], extraMetrics: () => fetchPrometheusText(deadUrl, 500) });
    try {
      const text = await (await fetch(`${ops.url}/metrics`)).text();
      expect(text).toMatch(/^# TYPE credits_usage_admitted_total counter$/m);
      expect(text).toMatch(/^credits_temporal_runtime_metrics_up 0$/m);
      const missing = await fetch(`${ops.url}/nothing`);
      expect(missing.status).toBe(404);
      expect(await fetch(`${ops.url}/readyz`).then((r) => r.status)).toBe(200);
    } finally {
      await ops.close();
    }
  });
});

describe('docs/prometheus-alerts.yaml', () => {
  it('is valid YAML whose every credits_* series exists in the engine registry', async () => {
    const doc = parse(readFileSync(join(projectRoot(), 'docs', 'prometheus-alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    const known = new Set((await ENGINE_REGISTRY.getMetricsAsJSON()).map((m) => m.name));
    known.add('credits_temporal_runtime_metrics_up'); // added to the worker's scrape by fetchPrometheusText
    for (const rule of rules) {
      for (const [name] of rule.expr.matchAll(/credits_[a-z_]+/g)) {
        expect(known.has(name.replace(/_(bucket|count|sum)$/, '')), `${rule.alert}: ${name}`).toBe(true);
      }
    }
  });
});
