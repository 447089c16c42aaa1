import {
  AgentBackupProgressSchema,
  AgentBackupTokenResponseSchema,
  AgentBackupTransferKeySchema,
  type AgentBackupProgress,
  type BackupTokenOp,
} from '@xspectre/contracts';
import type { AgentConfig } from '../config.js';
import { printable } from '../errors.js';
import { apiEndpoint, postJson, type ApiResponse } from '../http.js';
import type { RepositoryToken } from './repository-forwarder.js';

const TIMEOUT_MS = 15_000;

/** The API's answer was an error: `status` 404 while a route does not exist yet (transfer key, progress). */
export class BackupApiError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`HTTP ${status}: ${detail}`);
    this.name = 'BackupApiError';
  }
}

/** What a backup run asks of the API, with the device credential. */
export interface BackupApi {
  /** POST agent/backup-tokens: a repository token of `op` for the run. */
  token(runId: string, op: BackupTokenOp): Promise<RepositoryToken>;
  /** POST agent/backup-progress. */
  progress(report: AgentBackupProgress): Promise<void>;
  /** POST agent/backup-transfer-key. */
  transferKey(recipient: string): Promise<void>;
}

function failure(response: ApiResponse): BackupApiError {
  const problem = response.problem;
  return new BackupApiError(
    response.status,
    problem ? printable(`${problem.code}: ${problem.detail || problem.title}`, 300) : 'no problem body',
  );
}

/** The API over HTTP; `config` may be the live view of managed.json (credential rotation). */
export function httpBackupApi(config: Pick<AgentConfig, 'apiUrl' | 'deviceCredential'>): BackupApi {
  const post = (path: string, body: unknown) =>
    postJson(apiEndpoint(config.apiUrl, path), body, { timeoutMs: TIMEOUT_MS, bearer: config.deviceCredential });
  return {
    async token(runId, op) {
      const response = await post('agent/backup-tokens', { runId, op });
      if (response.status !== 200 && response.status !== 201) throw failure(response);
      const answer = AgentBackupTokenResponseSchema.safeParse(response.body);
      if (!answer.success) throw new BackupApiError(response.status, 'the token answer does not follow the contract');
      return { token: answer.data.token, expiresAt: new Date(answer.data.expiresAt) };
    },
    async progress(report) {
      const response = await post('agent/backup-progress', AgentBackupProgressSchema.parse(report));
      if (response.status >= 300) throw failure(response);
    },
    async transferKey(recipient) {
      const response = await post('agent/backup-transfer-key', AgentBackupTransferKeySchema.parse({ recipient }));
      if (response.status >= 300) throw failure(response);
    },
  };
}
