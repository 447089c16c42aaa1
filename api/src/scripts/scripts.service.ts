import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  ScriptRunParamsSchema,
  type AgentScriptResponse,
  type CreateScript,
  type Script,
  type ScriptRunParams,
  type UpdateScript,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import type { ScriptEntity } from './script.entity.js';
import { toScriptDto, toScriptSummaryDto } from './scripts.mapper.js';
import { ScriptsRepository, type ScriptFilter } from './scripts.repository.js';

/** Lower-case hex SHA-256 of the content's UTF-8 bytes: what a script run signs and the agent checks. */
export function scriptSha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * The script library. Super Admins write scripts; a script run (a critical command) names one,
 * and the commands feature asks here for what it signs: the current content's SHA-256, the
 * interpreter and the timeout. Every content version is kept while the script exists, so a
 * command queued before an edit fetches the version it signed.
 */
@Injectable()
export class ScriptsService {
  constructor(private readonly scripts: ScriptsRepository) {}

  async list(filter: ScriptFilter) {
    const { items, total } = await this.scripts.list(filter);
    return { items: items.map(toScriptSummaryDto), total, limit: filter.limit, offset: filter.offset };
  }

  async get(id: string): Promise<Script> {
    return toScriptDto(this.require(await this.scripts.findById(id), id));
  }

  async create(actor: Actor, input: CreateScript): Promise<Script> {
    const now = new Date();
    const script: ScriptEntity = {
      id: randomUUID(),
      ...this.contentFields(input),
      archivedAt: null,
      lastQueuedAt: null,
      createdBy: actor.email,
      createdAt: now,
      updatedBy: actor.email,
      updatedAt: now,
    };
    try {
      await this.scripts.insert(script);
    } catch (error) {
      throw this.translate(error, input.name);
    }
    await this.scripts.keepVersion({
      scriptId: script.id,
      sha256: script.sha256,
      content: script.content,
      createdBy: actor.email,
      createdAt: now,
    });
    this.annotate(script);
    return toScriptDto(script);
  }

  /** Replaces the script; new content is a new version (commands queued before keep theirs). */
  async update(actor: Actor, id: string, input: UpdateScript): Promise<Script> {
    const current = this.require(await this.scripts.findByIdLocked(id), id);
    if (current.archivedAt) throw new AppError('SCRIPT_ARCHIVED', `script ${current.name} is archived: it cannot be changed`);
    const now = new Date();
    const changes = { ...this.contentFields(input), updatedBy: actor.email, updatedAt: now };
    try {
      await this.scripts.update(id, changes);
    } catch (error) {
      throw this.translate(error, input.name);
    }
    if (changes.sha256 !== current.sha256)
      await this.scripts.keepVersion({
        scriptId: id,
        sha256: changes.sha256,
        content: changes.content,
        createdBy: actor.email,
        createdAt: now,
      });
    const updated = { ...current, ...changes };
    this.annotate(updated, current.sha256);
    return toScriptDto(updated);
  }

  /**
   * Deletes a script no command was ever queued with; one that commands ran is archived instead
   * (their history names it, and a queued one must not start after the delete).
   */
  async remove(actor: Actor, id: string): Promise<{ id: string; outcome: 'deleted' | 'archived' }> {
    const script = this.require(await this.scripts.findByIdLocked(id), id);
    this.annotate(script);
    if (script.lastQueuedAt === null) {
      await this.scripts.delete(id);
      requestContext.annotate({ details: { outcome: 'deleted' } });
      return { id, outcome: 'deleted' };
    }
    if (!script.archivedAt) await this.scripts.archive(id, new Date(), actor.email);
    requestContext.annotate({ details: { outcome: 'archived' } });
    return { id, outcome: 'archived' };
  }

  /**
   * The signed params of a script run (called by the commands feature inside the queueing
   * transaction): the script's current hash, interpreter and timeout, and the operator's
   * arguments. The script row stays locked until the command is stored, so an edit or a delete
   * waits for it, and is marked queued (a later delete archives it).
   */
  async resolveForCommand(request: { scriptId: string; args: string[] }): Promise<ScriptRunParams> {
    const script = this.require(await this.scripts.findByIdLocked(request.scriptId), request.scriptId);
    if (script.archivedAt) throw new AppError('SCRIPT_ARCHIVED', `script ${script.name} is archived: it cannot be run`);
    await this.scripts.markQueued(script.id, new Date());
    requestContext.annotate({ details: { script: { id: script.id, name: script.name, sha256: script.sha256 } } });
    return ScriptRunParamsSchema.parse({
      scriptId: script.id,
      sha256: script.sha256,
      interpreter: script.interpreter,
      timeoutSeconds: script.timeoutSeconds,
      args: request.args,
    });
  }

  /**
   * The content version a signed script run names, for its device's agent. An archived script's
   * content is no longer handed out: archiving stops runs that were queued but not yet fetched.
   */
  async contentForRun(scriptId: string, sha256: string, commandId: string): Promise<AgentScriptResponse> {
    const script = await this.scripts.findById(scriptId);
    if (script?.archivedAt)
      throw new AppError('SCRIPT_ARCHIVED', `script ${script.name} was archived after command ${commandId} was queued`);
    const version = script ? await this.scripts.findVersion(scriptId, sha256) : null;
    if (!version) throw new AppError('SCRIPT_NOT_FOUND', `no version ${sha256} of script ${scriptId}`);
    return { commandId, sha256: version.sha256, contentBase64: Buffer.from(version.content, 'utf8').toString('base64') };
  }

  private contentFields(input: CreateScript) {
    return {
      name: input.name,
      description: input.description,
      interpreter: input.interpreter,
      content: input.content,
      sha256: scriptSha256(input.content),
      sizeBytes: Buffer.byteLength(input.content, 'utf8'),
      timeoutSeconds: input.timeoutSeconds,
    };
  }

  private require<T>(script: T | null, id: string): T {
    if (!script) throw new AppError('SCRIPT_NOT_FOUND', `no script with id ${id}`);
    return script;
  }

  /** The audit row names the version by its hash (the body's content is cut by the audit row's size cap). */
  private annotate(script: ScriptEntity, previousSha256?: string): void {
    requestContext.annotate({
      resourceId: script.id,
      details: {
        name: script.name,
        interpreter: script.interpreter,
        sha256: script.sha256,
        sizeBytes: script.sizeBytes,
        timeoutSeconds: script.timeoutSeconds,
        ...(previousSha256 !== undefined && previousSha256 !== script.sha256 ? { previousSha256 } : {}),
      },
    });
  }

  private translate(error: unknown, name: string): unknown {
    if (isUniqueViolation(error, 'uq_scripts_name_lower')) return new AppError('SCRIPT_NAME_TAKEN', `a script named "${name}" exists`);
    return error;
  }
}
