import { describe, expect, it } from 'vitest';
import { decideTransition } from './command-transitions.js';

describe('command status transitions', () => {
  it('moves an open command to running or straight to a result', () => {
    expect(decideTransition('delivered', 'running')).toBe('apply');
    expect(decideTransition('queued', 'rejected')).toBe('apply');
    expect(decideTransition('running', 'succeeded')).toBe('apply');
    expect(decideTransition('running', 'interrupted')).toBe('apply');
  });

  it('never moves a final command, and treats the same final status again as a retry', () => {
    expect(decideTransition('succeeded', 'failed')).toBe('refuse');
    expect(decideTransition('rejected', 'running')).toBe('refuse');
    expect(decideTransition('succeeded', 'succeeded')).toBe('repeat');
    expect(decideTransition('running', 'running')).toBe('repeat');
  });

  it('refuses interrupted for a command that never started', () => {
    expect(decideTransition('delivered', 'interrupted')).toBe('refuse');
  });
});
