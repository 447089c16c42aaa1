import { describe, expect, it } from 'vitest';
import { planPeerChanges } from './index.js';

const A = 'ed0mXyVoAT2gKM97bANLJxY13DCq16E15d3MMYQUjxk=';
const B = '9VJFnv01/BVHH3B9Xk69nFWit/+iuElF2gjAMPbvYVk=';
const C = 'K3zEfsFKvNLdjzY8EhkC2ANlxsA6zcRJFTZ52u2zTVY=';
const peer = (publicKey: string, ...allowedIps: string[]) => ({ publicKey, allowedIps });

describe('planPeerChanges', () => {
  it('adds missing peers, removes unknown ones, updates changed allowed IPs', () => {
    const current = [peer(A, '10.10.0.21/32'), peer(B, '10.10.0.22/32')];
    const desired = [peer(C, '10.10.0.23/32'), peer(A, '10.10.0.31/32')];
    expect(planPeerChanges(current, desired)).toEqual({ add: [peer(C, '10.10.0.23/32')], remove: [B], update: [peer(A, '10.10.0.31/32')] });
  });

  it('is empty when nothing changed, regardless of peer and allowed-IP order', () => {
    const current = [peer(A, '10.10.0.21/32', '10.10.0.121/32'), peer(B, '10.10.0.22/32')];
    const desired = [peer(B, '10.10.0.22/32'), peer(A, '10.10.0.121/32', '10.10.0.21/32')];
    expect(planPeerChanges(current, desired)).toEqual({ add: [], remove: [], update: [] });
    expect(planPeerChanges([], [])).toEqual({ add: [], remove: [], update: [] });
  });

  it('handles the empty sides', () => {
    expect(planPeerChanges([], [peer(A, '10.10.0.21/32')])).toEqual({ add: [peer(A, '10.10.0.21/32')], remove: [], update: [] });
    expect(planPeerChanges([peer(A, '10.10.0.21/32'), peer(B)], [])).toEqual({ add: [], remove: [A, B], update: [] });
  });

  it('updates when a set shrinks or grows', () => {
    expect(planPeerChanges([peer(A, '10.10.0.21/32', '10.10.0.22/32')], [peer(A, '10.10.0.21/32')]).update).toHaveLength(1);
    expect(planPeerChanges([peer(A)], [peer(A, '10.10.0.21/32')]).update).toHaveLength(1);
  });
});
