import { randomBytes } from 'node:crypto';
import { KeysPinParamsSchema, SettingsApplyParamsSchema } from '@xspectre/contracts';
import { pinnedKeyProblem, type AgentConfig } from '../config.js';
import { errorMessage, printable } from '../errors.js';
import { apiEndpoint, ApiUnreachableError, postJson } from '../http.js';
import type { Logger } from '../log.js';
import { MAX_PINNED_KEYS, type ManagedSettings } from '../managed.js';
import type { FinalResult, JournalEntry } from './command-journal.js';

/**
 * The actions that change only the agent's own settings (managed.json, agent/src/managed.ts):
 * run in the agent's process, no transient unit. Each one can be run again after a crash and
 * ends where it would have ended, so resuming it after a restart is running it again.
 */
export const SETTINGS_APPLY = 'settings.apply';
export const CREDENTIAL_ROTATE = 'credential.rotate';
export const KEYS_PIN = 'keys.pin';
export const MANAGED_ACTIONS: ReadonlySet<string> = new Set([SETTINGS_APPLY, CREDENTIAL_ROTATE, KEYS_PIN]);

/** The API calls of a credential rotation, each with the credential it is made with. */
export interface CredentialApi {
  /** `POST agent/credential` with `bearer` (the old credential). Throws ApiUnreachableError when worth retrying. */
  handOver(
    bearer: string,
    commandId: string,
    credential: string,
    signal: AbortSignal,
  ): Promise<'accepted' | { refused: number; code: string }>;
  /**
   * Whether the API knows `bearer`: any answer but 401 means it does (and, for a pending
   * credential, that it has just made it the credential). Throws ApiUnreachableError when worth retrying.
   */
  knows(bearer: string, commandId: string, signal: AbortSignal): Promise<boolean>;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** The real API: `POST agent/credential`; the probe repeats `running` for the rotation's own command (the API answers it without change). */
export function httpCredentialApi(config: Pick<AgentConfig, 'apiUrl'>): CredentialApi {
  const retryable = (status: number, url: string) => {
    if (status >= 500 || status === 429) throw new ApiUnreachableError(url, `HTTP ${status}`);
  };
  return {
    async handOver(bearer, commandId, credential, signal) {
      const url = apiEndpoint(config.apiUrl, 'agent/credential');
      const response = await postJson(url, { commandId, credential }, { timeoutMs: REQUEST_TIMEOUT_MS, bearer, signal });
      retryable(response.status, url);
      if (response.status === 200 || response.status === 201) return 'accepted';
      return { refused: response.status, code: response.problem ? printable(response.problem.code, 80) : 'NO_PROBLEM_BODY' };
    },
    async knows(bearer, commandId, signal) {
      const url = apiEndpoint(config.apiUrl, `agent/commands/${commandId}/status`);
      const response = await postJson(url, { status: 'running' }, { timeoutMs: REQUEST_TIMEOUT_MS, bearer, signal });
      retryable(response.status, url);
      return response.status !== 401;
    },
  };
}

export interface ManagedActionsDeps {
  settings: ManagedSettings;
  api: CredentialApi;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A new credential (default: dc_ and 32 random bytes, base64url, as the API makes them at enrollment). */
  newCredential?: () => string;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

export class ManagedActions {
  constructor(private readonly deps: ManagedActionsDeps) {}

  handles(action: string): boolean {
    return MANAGED_ACTIONS.has(action);
  }

  /** Runs (or, after a restart, finishes) the action; undefined when shutdown came first (the next start resumes it). */
  async run(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    switch (entry.action) {
      case SETTINGS_APPLY:
        return this.applySettings(entry);
      case KEYS_PIN:
        return this.pinKey(entry);
      case CREDENTIAL_ROTATE:
        return this.rotateCredential(entry, signal);
      default:
        return { status: 'failed', reason: `no executor for the action ${entry.action}` };
    }
  }

  /** Writes the new values; the heartbeat loop and the services collector read them at their next tick (no restart). */
  private async applySettings(entry: JournalEntry): Promise<FinalResult> {
    const params = SettingsApplyParamsSchema.safeParse(entry.params);
    if (!params.success) return { status: 'failed', reason: 'params do not match settings.apply' };
    const { heartbeatIntervalSeconds, watch } = params.data;
    await this.deps.settings.update((file) => ({
      ...file,
      ...(heartbeatIntervalSeconds !== undefined ? { heartbeatIntervalSeconds } : {}),
      ...(watch ? { watchUnits: watch.units } : {}),
    }));
    const lines = [
      ...(heartbeatIntervalSeconds !== undefined ? [`heartbeat interval: ${heartbeatIntervalSeconds} s (from the next heartbeat)`] : []),
      ...(watch ? [`watched units: ${watch.units.length === 0 ? '(none besides failed units)' : watch.units.join(', ')}`] : []),
    ];
    this.deps.log.info('managed settings applied', {
      commandId: entry.commandId,
      heartbeatIntervalSeconds,
      watchUnits: watch?.units.length,
    });
    return { status: 'succeeded', exitCode: 0, stdout: `${lines.join('\n')}\n` };
  }

  /** Pins a key announced by a command signed with a key pinned before; the material is checked as agent.conf's is at load. */
  private async pinKey(entry: JournalEntry): Promise<FinalResult> {
    const params = KeysPinParamsSchema.safeParse(entry.params);
    if (!params.success) return { status: 'failed', reason: 'params do not match keys.pin' };
    const key = params.data;
    const problem = pinnedKeyProblem(key);
    if (problem) return { status: 'failed', reason: `the announced key cannot be pinned: ${problem}`.slice(0, 500) };
    const pinned = this.deps.settings.pinnedKeys;
    if (pinned.some((k) => k.keyId === key.keyId)) {
      return { status: 'succeeded', exitCode: 0, stdout: `key ${key.keyId} was pinned already (${pinned.length} keys pinned)\n` };
    }
    if (pinned.length >= MAX_PINNED_KEYS) {
      return { status: 'failed', reason: `${MAX_PINNED_KEYS} keys are pinned already: enroll the device again to start a new list` };
    }
    await this.deps.settings.update((file) => ({
      ...file,
      commandSigningKeys: [...pinned, { keyId: key.keyId, publicKeyPem: key.publicKeyPem }],
    }));
    this.deps.log.info('command-signing key pinned', { commandId: entry.commandId, keyId: key.keyId });
    return { status: 'succeeded', exitCode: 0, stdout: `key ${key.keyId} pinned (${pinned.length} keys pinned)\n` };
  }

  /**
   * The device credential, rotated in steps each recorded in managed.json before the next:
   * 1. make the new credential and keep it (`generated`); 2. hand it to the API with the old one
   * (the API keeps its hash as pending; the same credential again is a retry); 3. use it
   * (`switched`, the old one kept); 4. ask the API with it: known → `confirmed` (the API dropped
   * the old one on that first request); 401 → back to the old one, failed. A crash at any step
   * resumes at that step: before 3 the old credential works (the pending one is never used);
   * after 3 the new one is tried and, refused, the old one restored.
   */
  private async rotateCredential(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    const { settings, log } = this.deps;
    const commandId = entry.commandId;
    let rotation = settings.current.credentialRotation;
    if (rotation?.commandId !== commandId) {
      if (rotation?.stage === 'switched') {
        return { status: 'failed', reason: `the rotation of command ${rotation.commandId} is not confirmed yet; try again after it` };
      }
      // A rotation of another command that never switched is dropped: its credential was never used.
      const credential = (this.deps.newCredential ?? newDeviceCredential)();
      await settings.update((file) => ({ ...file, credentialRotation: { stage: 'generated', commandId, credential } }));
      rotation = settings.current.credentialRotation!;
    }
    if (rotation.stage === 'confirmed') return rotated();

    if (rotation.stage === 'generated') {
      const old = settings.config.deviceCredential;
      const credential = rotation.credential;
      const answer = await this.retry(signal, () => this.deps.api.handOver(old, commandId, credential, signal));
      if (answer === undefined) return undefined;
      if (answer !== 'accepted') {
        await settings.update(({ credentialRotation: _dropped, ...file }) => file);
        return {
          status: 'failed',
          reason: `the API refused the new credential (HTTP ${answer.refused} ${answer.code}); the old one stays`,
        };
      }
      await settings.update((file) => ({
        ...file,
        deviceCredential: credential,
        credentialRotation: { stage: 'switched', commandId, previousCredential: old },
      }));
      log.info('device credential switched; confirming it with the API', { commandId });
      rotation = settings.current.credentialRotation!;
    }

    if (rotation.stage !== 'switched') return rotated();
    const previous = rotation.previousCredential;
    const known = await this.retry(signal, () => this.deps.api.knows(settings.config.deviceCredential, commandId, signal));
    if (known === undefined) return undefined;
    if (!known) {
      await settings.update(({ credentialRotation: _dropped, ...file }) => ({ ...file, deviceCredential: previous }));
      log.warn('the API does not know the new credential: the previous one is used again', { commandId });
      return { status: 'failed', reason: 'the API did not accept the new credential; the previous one is kept' };
    }
    await settings.update((file) => ({ ...file, credentialRotation: { stage: 'confirmed', commandId } }));
    log.info('device credential rotated', { commandId });
    return rotated();
  }

  /** Calls `fn` until it answers; retried with backoff while the API is unreachable; undefined at shutdown. */
  private async retry<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ApiUnreachableError)) throw err;
        if (attempt === 1) this.deps.log.warn('credential rotation: API unreachable; retrying', { error: errorMessage(err) });
        await this.deps.sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt - 1, 16)), signal);
      }
    }
    return undefined;
  }
}

function rotated(): FinalResult {
  return {
    status: 'succeeded',
    exitCode: 0,
    stdout: 'device credential rotated: the API confirmed the new one, the old one no longer works\n',
  };
}

/** `dc_` and 32 random bytes, base64url (NewDeviceCredentialSchema). */
export function newDeviceCredential(): string {
  return `dc_${randomBytes(32).toString('base64url')}`;
}
