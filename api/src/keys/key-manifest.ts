import { z } from 'zod';

const IsoTime = z.iso.datetime();

/** One key of a purpose: `<keyId>.pem` beside the manifest holds its private half. */
const KeyEntrySchema = z
  .object({
    keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits'),
    createdAt: IsoTime,
    activeFrom: IsoTime,
    /** null while the key is the current one; else when it stops being valid. */
    retiresAt: IsoTime.nullable(),
  })
  .strict();
export type KeyEntry = z.infer<typeof KeyEntrySchema>;

/** `keys.json` of one purpose. Exactly one current key (retiresAt null), ids unique. */
const KeyManifestSchema = z
  .object({ version: z.literal(1), keys: z.array(KeyEntrySchema).min(1).max(64) })
  .strict()
  .refine((m) => m.keys.filter((k) => k.retiresAt === null).length === 1, 'exactly one key must have retiresAt null (the current one)')
  .refine((m) => new Set(m.keys.map((k) => k.keyId)).size === m.keys.length, 'key ids must be unique');
export type KeyManifest = z.infer<typeof KeyManifestSchema>;

export const MANIFEST_FILE = 'keys.json';

/** Parses a manifest's text; the error names the file and the fields (the file holds no secrets). */
export function parseKeyManifest(text: string, path: string): KeyManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON`);
  }
  const parsed = KeyManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function serializeKeyManifest(manifest: KeyManifest): string {
  return `${JSON.stringify(KeyManifestSchema.parse(manifest), null, 2)}\n`;
}
