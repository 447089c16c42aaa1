import { describe, expect, it } from 'vitest';
import { backward, currentTrail, FIRST_PAGE, forward, pageStartOf } from './cursor-trail';

describe('cursor trail', () => {
  it('reads the page from the URL: a cursor wins over an offset; bad offsets are the first page', () => {
    expect(pageStartOf('abc', '100')).toEqual({ cursor: 'abc' });
    expect(pageStartOf(null, '100')).toEqual({ offset: 100 });
    for (const bad of [null, '', '-50', 'x', '1.5']) expect(pageStartOf(undefined, bad)).toEqual(FIRST_PAGE);
  });

  it('walks forward and back to the same pages, counting rows', () => {
    let t = currentTrail(null, 's', FIRST_PAGE);
    expect(backward(t, 50)).toBeNull();
    t = forward(t, 'c2', 50);
    t = forward(t, 'c3', 50);
    expect(t).toEqual({ scope: 's', at: { cursor: 'c3' }, back: [FIRST_PAGE, { cursor: 'c2' }], first: 100 });
    t = backward(t, 50)!;
    expect(t).toEqual({ scope: 's', at: { cursor: 'c2' }, back: [FIRST_PAGE], first: 50 });
    t = backward(t, 50)!;
    expect(t).toEqual({ scope: 's', at: FIRST_PAGE, back: [], first: 0 });
  });

  it('forgets a trail of other filters or another page', () => {
    const walked = forward(currentTrail(null, 's', FIRST_PAGE), 'c2', 50);
    expect(currentTrail(walked, 's', { cursor: 'c2' })).toBe(walked);
    expect(currentTrail(walked, 'other', { cursor: 'c2' })).toEqual({ scope: 'other', at: { cursor: 'c2' }, back: [], first: null });
    expect(currentTrail(walked, 's', FIRST_PAGE)).toEqual({ scope: 's', at: FIRST_PAGE, back: [], first: 0 });
  });

  it('leads a linked cursor page to the first page, an old offset page a page back', () => {
    expect(backward(currentTrail(null, 's', { cursor: 'c9' }), 50)).toEqual({ scope: 's', at: FIRST_PAGE, back: [], first: 0 });
    const old = currentTrail(null, 's', { offset: 120 });
    expect(old.first).toBe(120);
    expect(backward(old, 50)).toEqual({ scope: 's', at: { offset: 70 }, back: [], first: 70 });
    // Next from the old offset page, then back: the offset page again.
    const next = forward(old, 'c', 50);
    expect(next.first).toBe(170);
    expect(backward(next, 50)).toEqual({ scope: 's', at: { offset: 120 }, back: [], first: 120 });
  });
});
