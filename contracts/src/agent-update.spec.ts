import { describe, expect, it } from 'vitest';
import { AGENT_EXECUTABLE_MAX_BYTES, AgentUpdateParamsSchema } from './agent-update.js';
import { BulkCommandRequestSchema, COMMAND_ACTION_PARAMS, CommandRequestSchema, isCriticalCommandAction } from './commands.js';

const BUILD = 'a'.repeat(64);
const HASH = 'b'.repeat(64);
const DEVICE = '00000000-0000-4000-8000-000000000001';

describe('agent.update', () => {
  it('is critical; the operator names the build by exactly one of version or buildId', () => {
    expect(isCriticalCommandAction('agent.update')).toBe(true);
    const ok = (params: unknown) => CommandRequestSchema.safeParse({ action: 'agent.update', params }).success;
    expect(ok({ version: '0.1.1' })).toBe(true);
    expect(ok({ buildId: BUILD })).toBe(true);
    expect(ok({})).toBe(false);
    expect(ok({ version: '0.1.1', buildId: BUILD })).toBe(false);
    // The hash, the size and any URL are the API's to fill in, never the operator's.
    expect(ok({ version: '0.1.1', sha256: HASH })).toBe(false);
    expect(ok({ version: '0.1.1', url: 'http://evil.example/agent' })).toBe(false);
    expect(ok({ buildId: 'A'.repeat(64) })).toBe(false);
    expect(ok({ buildId: BUILD.slice(1) })).toBe(false);
    expect(ok({ version: '../0.1' })).toBe(false);
    expect(ok({ version: '0.1 1' })).toBe(false);
    expect(ok({ version: 'x'.repeat(41) })).toBe(false);
    expect(BulkCommandRequestSchema.safeParse({ action: 'agent.update', params: { version: '0.1.1' }, deviceIds: [DEVICE] }).success).toBe(
      true,
    );
    const message = CommandRequestSchema.safeParse({ action: 'agent.update', params: {} }).error?.issues[0]?.message;
    expect(message).toBe('name the build by exactly one of version or buildId');
  });

  it('signs the version, the build id, the SHA-256 and the size, strictly', () => {
    expect(COMMAND_ACTION_PARAMS['agent.update']).toBe(AgentUpdateParamsSchema);
    const signed = { version: '0.1.1', buildId: BUILD, sha256: HASH, sizeBytes: 1000 };
    expect(AgentUpdateParamsSchema.parse(signed)).toEqual(signed);
    for (const bad of [
      { ...signed, url: 'http://x' },
      { ...signed, sha256: 'c'.repeat(63) },
      { ...signed, sizeBytes: 0 },
      { ...signed, sizeBytes: AGENT_EXECUTABLE_MAX_BYTES + 1 },
      { ...signed, sizeBytes: 1.5 },
      { version: '0.1.1', buildId: BUILD, sha256: HASH },
    ]) {
      expect(AgentUpdateParamsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
