import type { GmpElement, GmpNode } from './xml.js';

/**
 * Reading parsed GMP by presence: every helper answers undefined for what is missing, whatever
 * the GMP version says, so the readers (readers.ts) can prefer a new field and fall back to an
 * old one.
 */

const isElement = (value: unknown): value is GmpElement => value !== null && typeof value === 'object' && !Array.isArray(value);

/** All children of that name (GMP repeats elements such as `task` and `feed`). */
export function children(parent: GmpNode | undefined, name: string): GmpNode[] {
  // Own properties only: `constructor` or `toString` must not find Object.prototype's.
  if (!isElement(parent) || name === '@' || !Object.hasOwn(parent, name)) return [];
  const value = parent[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is GmpNode => typeof v === 'string' || isElement(v));
}

/** The first child of that name. */
export function child(parent: GmpNode | undefined, name: string): GmpNode | undefined {
  return children(parent, name)[0];
}

/** An element's own text (`<x>text</x>`, or the text beside its children/attributes). */
export function textOf(node: GmpNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  const text = node['#text'];
  return typeof text === 'string' ? text : '';
}

/** The text of the first child of that name; undefined when there is no such child. */
export function childText(parent: GmpNode | undefined, name: string): string | undefined {
  return textOf(child(parent, name));
}

export function attr(node: GmpNode | undefined, name: string): string | undefined {
  if (!isElement(node)) return undefined;
  const attributes = node['@'];
  if (!isElement(attributes) || !Object.hasOwn(attributes, name)) return undefined;
  const value = (attributes as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
