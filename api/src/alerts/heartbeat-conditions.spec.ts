import type { Heartbeat } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { readConditions, type RestartHistory } from './heartbeat-conditions.js';
import type { EngineRule } from './rule-book.js';

const rule = (id: string, kind: EngineRule['kind'], params: Record<string, unknown>) =>
  ({ id, key: id, name: id, kind, params, severity: 'warning', enabled: true, scopeKind: 'global', scopeRef: '' }) as EngineRule;

const rules = [
  rule('cpu', 'metric', { metric: 'cpu', threshold: 90 }),
  rule('unit', 'unit', { condition: 'failed', units: ['*'] }),
  rule('restarting', 'container', { condition: 'restarting', containers: ['*'], restarts: 3, windowSeconds: 900 }),
];

function heartbeat(cpu: number, failedUnit: boolean, restartCount: number): Heartbeat {
  return {
    metrics: { cpuPercent: cpu },
    services: [
      { unit: 'a.service', activeState: failedUnit ? 'failed' : 'active', subState: 'x', watched: true },
      { unit: 'b.service', activeState: 'active', subState: 'running', watched: true },
    ],
    docker: { status: 'ok', containers: [{ name: 'gvmd', image: 'gvmd:1', state: 'running', health: null, restartCount }] },
  } as unknown as Heartbeat;
}

describe('readConditions', () => {
  it('builds every reading, or only the breaches; only a breach carries details', () => {
    const all = readConditions(rules, heartbeat(95, false, 0), new Map(), 1_000);
    expect(all.map((r) => `${r.ruleId}:${r.subject}:${r.state}`)).toEqual([
      'cpu::breach',
      'unit:a.service:clear',
      'unit:b.service:clear',
      'restarting:gvmd:clear',
    ]);
    expect(all[0]!.details).toEqual({ metric: 'cpu', value: 95, threshold: 90 });
    expect(all.slice(1).every((r) => Object.keys(r.details).length === 0)).toBe(true);

    const breaches = readConditions(rules, heartbeat(95, true, 0), new Map(), 1_000, true);
    expect(breaches.map((r) => `${r.ruleId}:${r.subject}:${r.state}`)).toEqual(['cpu::breach', 'unit:a.service:breach']);
    expect(breaches[1]!.details).toEqual({ unit: 'a.service', activeState: 'failed', subState: 'x' });
    expect(readConditions(rules, heartbeat(10, false, 0), new Map(), 1_000, true)).toEqual([]);
  });

  it('records restart counts from heartbeats whose readings are not built, in one array per container', () => {
    const history: RestartHistory = new Map();
    readConditions(rules, heartbeat(10, false, 0), history, 1_000, true);
    const points = history.get('gvmd');
    readConditions(rules, heartbeat(10, false, 1), history, 2_000, true);
    readConditions(rules, heartbeat(10, false, 2), history, 3_000, true);
    expect(history.get('gvmd')).toBe(points);
    const [reading] = readConditions(rules, heartbeat(10, false, 3), history, 4_000, true);
    expect(reading).toMatchObject({ ruleId: 'restarting', state: 'breach', details: { restartsInWindow: 3, restartCount: 3 } });
    // Readings leave with the 900 s window; a run of equal counts keeps its first and last.
    readConditions(rules, heartbeat(10, false, 3), history, 905_000, true);
    readConditions(rules, heartbeat(10, false, 3), history, 906_000, true);
    expect(history.get('gvmd')).toEqual([
      { at: 905_000, count: 3 },
      { at: 906_000, count: 3 },
    ]);
    expect(readConditions(rules, heartbeat(10, false, 3), history, 906_500, true)).toEqual([]);
  });
});
