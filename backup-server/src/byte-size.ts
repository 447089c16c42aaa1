/** Sizes as operators write them (`50G`, `512M`, `1T`, or plain bytes); powers of 1024 like ZFS. */
const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** Bytes of a size text, or undefined when it is not one (or exceeds Number.MAX_SAFE_INTEGER). */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d{1,15})(?:\.(\d{1,3}))?\s*([KMGTP]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, whole, fraction = '', unit = ''] = match;
  const factor = UNITS[unit.toUpperCase()]!;
  if (fraction && factor === 1) return undefined;
  const bytes = Math.floor(Number(`${whole}.${fraction || '0'}`) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
