import { describe, expect, it } from 'vitest';
import { decideCommandTransition } from './command-transitions.js';

describe('command status transitions', () => {
  it('moves an open command to running or straight to a result', () => {
    expect(decideCommandTransition('delivered', 'running')).toBe('apply');
    expect(decideCommandTransition('queued', 'rejected')).toBe('apply');
    expect(decideCommandTransition('running', 'succeeded')).toBe('apply');
    expect(decideCommandTransition('running', 'interrupted')).toBe('apply');
  });

  it('never moves a final command, and treats the same final status again as a retry', () => {
    expect(decideCommandTransition('succeeded', 'failed')).toBe('refuse');
    expect(decideCommandTransition('rejected', 'running')).toBe('refuse');
    expect(decideCommandTransition('succeeded', 'succeeded')).toBe('repeat');
    expect(decideCommandTransition('running', 'running')).toBe('repeat');
  });

  it('refuses interrupted for a command that never started', () => {
    expect(decideCommandTransition('delivered', 'interrupted')).toBe('refuse');
  });
});
