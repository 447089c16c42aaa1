import { describe, expect, it } from 'vitest';
import { ChunkBuilder, resumeStep } from './upload-plan.js';

describe('resumeStep', () => {
  it('resends the tail the server does not hold, or nothing when it holds the whole chunk', () => {
    expect(resumeStep(100, 50, 100)).toEqual({ kind: 'resend', offset: 100, skip: 0 });
    expect(resumeStep(100, 50, 120)).toEqual({ kind: 'resend', offset: 120, skip: 20 });
    expect(resumeStep(100, 50, 150)).toEqual({ kind: 'done' });
  });

  it('refuses offsets that cannot be: acknowledged bytes lost, more than sent, not a number', () => {
    expect(resumeStep(100, 50, 99)).toMatchObject({ kind: 'lost', reason: expect.stringContaining('acknowledged bytes were lost') });
    expect(resumeStep(100, 50, 151)).toMatchObject({ kind: 'lost', reason: expect.stringContaining('more than the 150 sent') });
    expect(resumeStep(100, 50, Number.NaN)).toMatchObject({ kind: 'lost' });
    expect(resumeStep(100, 50, -1)).toMatchObject({ kind: 'lost' });
  });
});

describe('ChunkBuilder', () => {
  it('cuts any sequence of buffers into chunks of exactly the size, keeping every byte in order', () => {
    const builder = new ChunkBuilder(4);
    const out: Buffer[] = [];
    for (const piece of ['a', 'bcdefg', '', 'hijklmnopq', 'r']) out.push(...builder.push(Buffer.from(piece)));
    expect(out.map((b) => b.toString())).toEqual(['abcd', 'efgh', 'ijkl', 'mnop']);
    expect(builder.rest().toString()).toBe('qr');
    expect(builder.rest().length).toBe(0);
  });

  it('hands out a fresh buffer per chunk (one in flight is never overwritten)', () => {
    const builder = new ChunkBuilder(2);
    const [first] = builder.push(Buffer.from('ab'));
    builder.push(Buffer.from('cd'));
    expect(first?.toString()).toBe('ab');
  });
});
