import type { Script, ScriptSummary } from '@xspectre/contracts';
import type { ScriptEntity } from './script.entity.js';
import type { ScriptRow } from './scripts.repository.js';

export function toScriptSummaryDto(s: ScriptRow): ScriptSummary {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    interpreter: s.interpreter,
    sha256: s.sha256,
    sizeBytes: s.sizeBytes,
    timeoutSeconds: s.timeoutSeconds,
    archived: s.archivedAt !== null,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    updatedBy: s.updatedBy,
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function toScriptDto(s: ScriptEntity): Script {
  return { ...toScriptSummaryDto(s), content: s.content };
}
