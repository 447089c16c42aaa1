import { describe, expect, it } from 'vitest';
import { parseDemoArgs, parseEnvFile } from './demo.js';
import { dutyAt, parseLoadArgs } from './demo-load.js';

describe('npm run demo arguments', () => {
  it('adds 5 devices by default, N with --devices, and knows down and status', () => {
    expect(parseDemoArgs([])).toEqual({ command: 'up', devices: 5 });
    expect(parseDemoArgs(['--devices', '12'])).toEqual({ command: 'up', devices: 12 });
    expect(parseDemoArgs(['up', '-n', '3'])).toEqual({ command: 'up', devices: 3 });
    expect(parseDemoArgs(['down']).command).toBe('down');
    expect(parseDemoArgs(['status']).command).toBe('status');
  });

  it('refuses what it does not know and device counts out of range', () => {
    for (const argv of [['--devices', '0'], ['--devices', '51'], ['--devices', 'x'], ['sideways'], ['down', '--devices', '2'], ['--fleet']])
      expect(() => parseDemoArgs(argv), argv.join(' ')).toThrow();
  });
});

describe('.env.local parsing', () => {
  it('reads KEY=VALUE lines as values, never as shell', () => {
    const env = parseEnvFile('# c\nAPI_PORT=3000\nexport API_HOST=0.0.0.0\nPW="a b=c"\nX=$(touch /tmp/no)\n  \n');
    expect(env).toEqual({ API_PORT: '3000', API_HOST: '0.0.0.0', PW: 'a b=c', X: '$(touch /tmp/no)' });
  });
});

describe('demo load', () => {
  it('swings between min and max percent of a core over its period', () => {
    expect(dutyAt(0, 2, 12, 100)).toBeCloseTo(0.02);
    expect(dutyAt(50, 2, 12, 100)).toBeCloseTo(0.12);
    expect(dutyAt(100, 2, 12, 100)).toBeCloseTo(0.02);
  });

  it('stays bounded', () => {
    expect(parseLoadArgs([])).toEqual({ min: 2, max: 15, period: 120, seconds: 43200 });
    for (const argv of [
      ['--max', '80'],
      ['--min', '9', '--max', '3'],
      ['--seconds', '0'],
      ['--period', '1'],
    ])
      expect(() => parseLoadArgs(argv), argv.join(' ')).toThrow();
  });
});
