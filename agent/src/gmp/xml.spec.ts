import { describe, expect, it } from 'vitest';
import { GmpError } from './errors.js';
import { attr, child, childText, children, textOf } from './nodes.js';
import { parseGmpXml } from './xml.js';

const refusal = (text: string): GmpError => {
  try {
    parseGmpXml(text);
  } catch (err) {
    return err as GmpError;
  }
  throw new Error('not refused');
};

describe('parseGmpXml', () => {
  it('keeps every value a string: versions, leading zeros, exponents, hex, booleans', () => {
    const { name, root } = parseGmpXml(
      '<get_version_response status="200" status_text="OK"><version>22.10</version><n>0123</n><e>1e3</e><h>0x10</h><b>true</b><f>-0.50</f></get_version_response>',
    );
    expect(name).toBe('get_version_response');
    expect(childText(root, 'version')).toBe('22.10');
    expect(childText(root, 'n')).toBe('0123');
    expect(childText(root, 'e')).toBe('1e3');
    expect(childText(root, 'h')).toBe('0x10');
    expect(childText(root, 'b')).toBe('true');
    expect(childText(root, 'f')).toBe('-0.50');
    expect(attr(root, 'status')).toBe('200');
  });

  it('keeps attribute values strings and reads mixed content, repeated and empty elements', () => {
    const { root } = parseGmpXml(
      '<get_tasks_response status="200"><task id="007"><name>a</name></task><task id="2"><name/></task><task_count>0042<filtered>7</filtered></task_count></get_tasks_response>',
    );
    const tasks = children(root, 'task');
    expect(tasks.map((t) => attr(t, 'id'))).toEqual(['007', '2']);
    expect(tasks.map((t) => childText(t, 'name'))).toEqual(['a', '']);
    expect(textOf(child(root, 'task_count'))).toBe('0042');
    expect(childText(child(root, 'task_count'), 'filtered')).toBe('7');
  });

  it("decodes XML's predefined entities and character references, in text and attributes", () => {
    const { root } = parseGmpXml(
      '<r a="x &amp; &quot;y&quot; &#233;"><t>a &lt;b&gt; &amp;amp; &apos;c&apos; &#xE9;&#x1F6F0;</t><c><![CDATA[&amp; <raw>]]></c></r>',
    );
    expect(attr(root, 'a')).toBe('x & "y" é');
    expect(childText(root, 't')).toBe("a <b> &amp; 'c' é🛰");
    expect(childText(root, 'c')).toBe('&amp; <raw>');
  });

  it('refuses DOCTYPE, declared entities (billion laughs) and unknown or invalid entities', () => {
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><r>&lol2;</r>';
    for (const text of [laughs, '<!doctype r><r/>', '<r>&nbsp;</r>', '<r>&lol;</r>', '<r>&#0;</r>', '<r a="&#xD800;"/>']) {
      const err = refusal(text);
      expect(err, text).toBeInstanceOf(GmpError);
      expect(err.code).toBe('protocol');
    }
  });

  it('refuses malformed XML and more than one root', () => {
    expect(refusal('<r><a></r>').code).toBe('protocol');
    expect(refusal('<a/><b/>').code).toBe('protocol');
  });

  it('does not let element names reach object prototypes', () => {
    expect(refusal('<r><__proto__><polluted>1</polluted></__proto__></r>').code).toBe('protocol');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(refusal('<r><constructor>x</constructor></r>').code).toBe('protocol');
    // Lookups of names gvmd did not send never find Object.prototype's members.
    const { root } = parseGmpXml('<r><a>x</a></r>');
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) expect(childText(root, name)).toBeUndefined();
  });
});
