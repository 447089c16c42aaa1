import {
  RecoveryImageTokenResponseSchema,
  RecoveryRegisterResponseSchema,
  type CommandStatusReport,
  type DiskImageMetadata,
  type DiskImageTokenOp,
  type RecoveryProgress,
  type RecoveryRegister,
  type RecoveryRegisterResponse,
} from '@xspectre/contracts';
import { z } from 'zod';
import { CommandApiError, POLL_WAIT_SECONDS, REPORT_TIMEOUT_MS, type PollAnswer, type ReportOutcome } from '../commands/command-api.js';
import { printable } from '../errors.js';
import { apiEndpoint, getJson, postJson, type ApiResponse } from '../http.js';
import type { ImageToken } from './imaging.js';

/**
 * The recovery agent's routes (`agent/recovery/*`, contracts/src/recovery.ts) with the recovery
 * credential (`Authorization: Bearer xsr1…`, never logged). Network failures throw
 * ApiUnreachableError (http.ts); error answers throw CommandApiError with the problem's code.
 */
export interface RecoveryApi {
  register(body: RecoveryRegister, signal: AbortSignal): Promise<RecoveryRegisterResponse>;
  poll(waitSeconds: number, signal: AbortSignal): Promise<PollAnswer>;
  report(commandId: string, report: CommandStatusReport, signal: AbortSignal): Promise<ReportOutcome>;
  progress(body: RecoveryProgress, signal: AbortSignal): Promise<void>;
  imageToken(commandId: string, op: DiskImageTokenOp, signal: AbortSignal): Promise<ImageToken>;
  reportImage(commandId: string, metadata: DiskImageMetadata, signal: AbortSignal): Promise<void>;
}

const PollAnswerSchema = z.object({ commands: z.array(z.unknown()).max(1000), serverTime: z.string() });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function apiError(response: ApiResponse): CommandApiError {
  const problem = response.problem;
  return new CommandApiError(
    response.status,
    problem ? printable(problem.code, 80) : 'NO_PROBLEM_BODY',
    problem ? printable(problem.detail || problem.title) : 'no problem description',
  );
}

export function httpRecoveryApi(apiUrl: string, credential: string): RecoveryApi {
  const url = (path: string) => apiEndpoint(apiUrl, path);
  const post = (path: string, body: unknown, signal: AbortSignal, timeoutMs = REPORT_TIMEOUT_MS) =>
    postJson(url(path), body, { timeoutMs, bearer: credential, signal });
  return {
    async register(body, signal) {
      const response = await post('agent/recovery/register', body, signal);
      if (response.status !== 200 && response.status !== 201) throw apiError(response);
      const parsed = RecoveryRegisterResponseSchema.safeParse(response.body);
      if (!parsed.success) throw new CommandApiError(response.status, 'BAD_ANSWER', 'the registration answer does not follow the contract');
      return parsed.data;
    },
    async poll(waitSeconds, signal) {
      const response = await getJson(url(`agent/recovery/commands?waitSeconds=${waitSeconds}`), {
        timeoutMs: (waitSeconds + 10) * 1000,
        bearer: credential,
        signal,
      });
      if (response.status !== 200) throw apiError(response);
      const parsed = PollAnswerSchema.safeParse(response.body);
      if (!parsed.success) throw new CommandApiError(response.status, 'BAD_ANSWER', 'the poll answer does not follow the contract');
      return parsed.data;
    },
    async report(commandId, report, signal) {
      if (!UUID.test(commandId)) return { kind: 'refused', status: 0, code: 'BAD_COMMAND_ID' };
      const response = await post(`agent/recovery/commands/${commandId}/status`, report, signal);
      if (response.status === 200 || response.status === 201) return { kind: 'accepted' };
      const error = apiError(response);
      if ([400, 404, 409, 422].includes(response.status)) return { kind: 'refused', status: response.status, code: error.code };
      throw error;
    },
    async progress(body, signal) {
      const response = await post('agent/recovery/progress', body, signal);
      if (response.status >= 300) throw apiError(response);
    },
    async imageToken(commandId, op, signal) {
      const response = await post('agent/recovery/image-tokens', { commandId, op }, signal);
      if (response.status !== 200 && response.status !== 201) throw apiError(response);
      const parsed = RecoveryImageTokenResponseSchema.safeParse(response.body);
      if (!parsed.success) throw new CommandApiError(response.status, 'BAD_ANSWER', 'the image token answer does not follow the contract');
      return { token: parsed.data.token, expiresAt: new Date(parsed.data.expiresAt), imagesUrl: parsed.data.imagesUrl };
    },
    async reportImage(commandId, metadata, signal) {
      const response = await post('agent/recovery/images', { commandId, metadata }, signal);
      if (response.status !== 200 && response.status !== 201) throw apiError(response);
    },
  };
}

export { POLL_WAIT_SECONDS };
