import { describe, expect, it } from 'vitest';
import { checkLabId, deviceNames, labIdOf, labNames, MAX_DEVICES, newLabId, underlayAddress } from './names.js';
import { isRunning, procRef } from './processes.js';

describe('lab names', () => {
  it('every interface name fits in 15 characters and carries the lab id', () => {
    const id = newLabId();
    expect(checkLabId(id)).toBe(id);
    const names = [labNames(id).bridge, labNames(id).hub, ...Object.values(deviceNames(id, MAX_DEVICES)).slice(1)];
    for (const name of names) {
      expect(name.length, name).toBeLessThanOrEqual(15);
      expect(labIdOf(name)).toBe(id);
    }
    expect(() => deviceNames(id, MAX_DEVICES + 1)).toThrow(RangeError);
    expect(() => checkLabId('xyz')).toThrow(TypeError);
  });

  it('recognises only lab-made names', () => {
    expect(labIdOf('xsl-0a1b2c-d12')).toBe('0a1b2c');
    for (const other of ['xsa-hub-2ab731', 'xsl-0a1b2c', 'eth0', 'xsl-0A1B2C-d1', 'xsw-hub-123456']) expect(labIdOf(other)).toBeUndefined();
  });

  it('gives devices distinct underlay addresses in 198.18.0.0/16, never the hub side', () => {
    const addresses = Array.from({ length: MAX_DEVICES }, (_, i) => underlayAddress(i + 1));
    expect(new Set(addresses).size).toBe(MAX_DEVICES);
    expect(addresses[0]).toBe('198.18.1.1');
    expect(addresses[250]).toBe('198.18.2.1');
    for (const a of addresses) expect(a).toMatch(/^198\.18\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|250)$/);
  });
});

describe('process references', () => {
  it('know a process by PID and start time, so a reused PID is not taken for it', async () => {
    const self = await procRef(process.pid);
    expect(await isRunning(self)).toBe(true);
    expect(await isRunning({ pid: process.pid, startTime: '1' })).toBe(false);
    expect(await isRunning(null)).toBe(false);
  });
});
