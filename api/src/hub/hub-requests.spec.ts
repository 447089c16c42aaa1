import { describe, expect, it } from 'vitest';
import { parseReply, parseRequest } from './hub-requests.js';

const ID = '0b7c3f5e-2a41-4d7e-9c1a-6f0e8d2b4a10';
const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

describe('hub request and reply messages', () => {
  it('reads the requests and replies the instances send', () => {
    expect(parseRequest(`${ID} probe`)).toEqual({ id: ID, kind: 'probe' });
    expect(parseRequest(`${ID} sync`)).toEqual({ id: ID, kind: 'sync' });
    expect(parseReply(`${ID} ok ${KEY}`)).toEqual({ id: ID, ok: true, publicKey: KEY });
    expect(parseReply(`${ID} ok`)).toEqual({ id: ID, ok: true });
    expect(parseReply(`${ID} fail`)).toEqual({ id: ID, ok: false });
  });

  it('ignores anything else on the channels: unknown kinds and statuses, bad ids, a key that is not one', () => {
    for (const text of ['', ID, `${ID} apply`, `${ID.toUpperCase()} probe`, `not-a-uuid probe`, `${ID}  probe`])
      expect(parseRequest(text), text).toBeNull();
    for (const text of ['', `${ID} maybe`, `x ok ${KEY}`, `${ID}`]) expect(parseReply(text), text).toBeNull();
    expect(parseReply(`${ID} ok not-a-key`)).toEqual({ id: ID, ok: true });
  });
});
