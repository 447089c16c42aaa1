import { describe, expect, it } from 'vitest';
import { GmpError } from './errors.js';
import { attr, child, childText } from './nodes.js';
import { authenticateCommand, escapeAttribute, escapeText, gmpElement } from './request.js';
import { parseGmpXml } from './xml.js';

describe('GMP request builder', () => {
  it('escapes markup in text so a password stays one value', () => {
    const password = `p</password></credentials><get_users/><x a="1">&amp;'"]]>`;
    const xml = authenticateCommand('agent <ops>', password);
    expect(xml).not.toContain('<get_users/>');
    const { name, root } = parseGmpXml(xml);
    expect(name).toBe('authenticate');
    const credentials = child(root, 'credentials');
    expect(childText(credentials, 'username')).toBe('agent <ops>');
    expect(childText(credentials, 'password')).toBe(password);
  });

  it('escapes attribute values, quotes and whitespace included', () => {
    const filter = `name="x" rows=1 first='2' <&>\ttab\nline`;
    const xml = gmpElement('get_tasks', { filter, details: false, rows: 5, skipped: undefined });
    expect(xml.startsWith('<get_tasks filter="')).toBe(true);
    expect(xml).not.toContain('skipped');
    const { root } = parseGmpXml(xml);
    expect(attr(root, 'details')).toBe('0');
    expect(attr(root, 'rows')).toBe('5');
    // Tabs and newlines survive as references (a raw one would be normalised to a space).
    expect(attr(root, 'filter')).toBe(filter);
  });

  it('refuses characters XML cannot carry and names that are not GMP names', () => {
    for (const bad of ['a\u0000b', 'a\u0007', 'x\ud800y', '\uffff']) {
      expect(() => escapeText(bad), JSON.stringify(bad)).toThrow(GmpError);
      expect(() => escapeAttribute(bad)).toThrow(GmpError);
    }
    expect(() => gmpElement('get_tasks><x')).toThrow(GmpError);
    expect(() => gmpElement('get_tasks', { 'a="1" b': 'x' })).toThrow(GmpError);
    expect(escapeText('emoji 🛰 ok')).toBe('emoji 🛰 ok');
  });

  it('writes empty commands self-closed and nested ones with end tags', () => {
    expect(gmpElement('get_version')).toBe('<get_version/>');
    expect(gmpElement('a', {}, gmpElement('b'))).toBe('<a><b/></a>');
  });
});
