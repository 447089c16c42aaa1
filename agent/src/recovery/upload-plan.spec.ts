import { describe, expect, it } from 'vitest';
import { ChunkBuilder, resumeStep } from './upload-plan.js';

describe('resumeStep', () => {
  it('resends the tail the server does not hold, or nothing when it holds the whole chunk', () => {
    expect(resumeStep(100, 50, 100)).toEqual({ kind: 'resend', offset: 100, skip: 0 });
    expect(resumeStep(100, 50, 120)).toEqual({ kind: 'resend', offset: 120, skip: 20 });
    expect(resumeStep(100, 50, 150)).toEqual({ kind: 'done' });
  });

  it('refuses offsets that cannot be: acknowledged bytes lost, more than sent, not a number', () => {
    expect(resumeStep(100, 50, 99)).toMatchObject({ kind: 'behind', reason: expect.stringContaining('acknowledged bytes were lost') });
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

  it('never refills a chunk before it is recycled, and refills recycled buffers instead of allocating', () => {
    let allocated = 0;
    const builder = new ChunkBuilder(2, (n) => {
      allocated++;
      return Buffer.alloc(n);
    });
    const [first] = builder.push(Buffer.from('ab'));
    const [second] = builder.push(Buffer.from('cd'));
    expect([first?.toString(), second?.toString()]).toEqual(['ab', 'cd']);
    expect(allocated).toBe(3); // 'ab', 'cd' and the one filling now
    builder.recycle(first as Buffer);
    builder.recycle(first as Buffer); // twice is once
    expect(builder.push(Buffer.from('efg')).map(String)).toEqual(['ef']);
    expect(second?.toString()).toBe('cd');
    expect(allocated).toBe(3); // 'g' went into the recycled buffer of 'ab'
    expect(first?.subarray(0, 1).toString()).toBe('g');
    expect(builder.rest().toString()).toBe('g');
  });
});
