import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels` (undefined when none). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Scrapes a metrics listener: its text, checked to parse. */
export async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`scrape ${url}: ${response.status}`);
  const text = await response.text();
  return { text, samples: parseExposition(text), contentType: response.headers.get('content-type') };
}

export const PROMTOOL = '/usr/bin/promtool';
export const hasPromtool = existsSync(PROMTOOL);

/**
 * `promtool check metrics` on an exposition: `parsed` false on a format error (exit 1); `lint`
 * lists its lint problems (exit 3), one per line.
 */
export async function promtoolCheckMetrics(text: string): Promise<{ parsed: boolean; lint: string[]; output: string }> {
  const result = await execa(PROMTOOL, ['check', 'metrics'], { input: text, reject: false });
  const output = `${result.stdout}${result.stderr}`;
  const lint = result.exitCode === 3 ? output.split('\n').filter(Boolean) : [];
  return { parsed: result.exitCode === 0 || result.exitCode === 3, lint, output };
}

/**
 * prom-client's own default metrics that promtool's lint dislikes (gauges named *_total): not ours
 * to rename, so they are the only lint problems a check accepts.
 */
export const DEFAULT_METRIC_LINT =
  /^xspectre_(api|worker|backup)_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
