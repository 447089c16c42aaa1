import { describe, expect, it } from 'vitest';
import { GmpError } from './errors.js';
import { GmpFrameReader } from './framing.js';

// Everything the depth counting must see through: attributes holding '>' and '/>', self-closing
// children, a comment and CDATA holding markup, a processing instruction, and multi-byte UTF-8
// (ü is 2 bytes, 🛰 is 4) that a split may cut in the middle.
const ANSWER =
  '<?xml version="1.0"?>\n<get_tasks_response status_text="done/>" status="200" note="a > b, c/>d">' +
  '<task id="1"><name>Prüfung 🛰 Außenstelle</name><comment/><x a=\'q">/\' b="/"/>' +
  '<!-- </get_tasks_response> --><c><![CDATA[</c> ]] > ]]]><?pi a > b?></c></task>' +
  '<task_count>1<filtered>1</filtered></task_count></get_tasks_response>';

const frames = (reader: GmpFrameReader, ...chunks: Buffer[]) => chunks.flatMap((chunk) => reader.push(chunk));

describe('GmpFrameReader', () => {
  const bytes = Buffer.from(ANSWER, 'utf8');

  it('finds the end of an answer split in two at every byte offset', () => {
    expect(bytes.length).toBeGreaterThan(Buffer.byteLength(ANSWER, 'latin1')); // multi-byte characters are in it
    for (let at = 0; at <= bytes.length; at++) {
      const reader = new GmpFrameReader();
      const out = frames(reader, bytes.subarray(0, at), bytes.subarray(at));
      expect(
        out.map((f) => f.toString('utf8')),
        `split at ${at}`,
      ).toEqual([ANSWER]);
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('finds it one byte at a time, and not a byte early', () => {
    const reader = new GmpFrameReader();
    for (let i = 0; i < bytes.length - 1; i++) expect(reader.push(bytes.subarray(i, i + 1)), `byte ${i}`).toEqual([]);
    expect(reader.inAnswer).toBe(true);
    expect(reader.push(bytes.subarray(bytes.length - 1)).map((f) => f.toString('utf8'))).toEqual([ANSWER]);
    expect(reader.inAnswer).toBe(false);
  });

  it('takes a self-closing root (gvmd error answers) as a whole answer, even with > in an attribute', () => {
    const error = '<get_feeds_response status="400" status_text="Permission denied > here"/>';
    const reader = new GmpFrameReader();
    for (let at = 0; at <= error.length; at++) {
      expect(frames(reader, Buffer.from(error.slice(0, at)), Buffer.from(error.slice(at))).map(String), `split at ${at}`).toEqual([error]);
    }
  });

  it('returns two answers that arrive in one read, and keeps the start of a third', () => {
    const reader = new GmpFrameReader();
    const a = '<a_response status="200"/>';
    const b = '<b_response status="200"><x>1</x></b_response>';
    expect(reader.push(Buffer.from(`${a}\n${b}<c_resp`)).map(String)).toEqual([a, `\n${b}`]);
    expect(reader.inAnswer).toBe(true);
    expect(reader.push(Buffer.from('onse status="200"/>')).map(String)).toEqual(['<c_response status="200"/>']);
  });

  it('keeps only whitespace between answers out of an answer', () => {
    const reader = new GmpFrameReader();
    expect(reader.push(Buffer.from('\n  '))).toEqual([]);
    expect(reader.inAnswer).toBe(false);
  });

  const refused = (text: string, chunks = 1): GmpError => {
    const reader = new GmpFrameReader(1024);
    const data = Buffer.from(text);
    const step = Math.ceil(data.length / chunks);
    try {
      for (let i = 0; i < data.length; i += step) reader.push(data.subarray(i, i + step));
    } catch (err) {
      return err as GmpError;
    }
    throw new Error(`not refused: ${text.slice(0, 40)}`);
  };

  it('refuses DOCTYPE and other declarations, also when split inside the keyword', () => {
    for (const chunks of [1, 3, 40]) {
      const err = refused('<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', chunks);
      expect(err).toBeInstanceOf(GmpError);
      expect(err.code).toBe('protocol');
      expect(err.message).toMatch(/declarations/);
    }
    expect(refused('<r><!ENTITY a "x"></r>').code).toBe('protocol');
  });

  it('refuses text outside the root, a stray end tag and an answer above the bound', () => {
    expect(refused('garbage<r/>').message).toMatch(/outside/);
    expect(refused('</r>').message).toMatch(/end tag/);
    expect(refused(`<r>${'x'.repeat(2000)}</r>`, 4).message).toMatch(/larger than 1024 bytes/);
    expect(refused(`<r>${'x'.repeat(2000)}</r>`, 1).message).toMatch(/larger than 1024 bytes/);
  });
});
