import { z } from 'zod';
import type { CommandStatusReport } from '@xspectre/contracts';
import type { AgentConfig } from '../config.js';
import { printable } from '../errors.js';
import { apiEndpoint, getJson, postJson } from '../http.js';

/** The long poll is held this long by the API when nothing waits (AgentCommandsQuerySchema allows 0–30). */
export const POLL_WAIT_SECONDS = 25;
/** The client waits a bit longer than the API holds the poll. */
export const POLL_TIMEOUT_MS = (POLL_WAIT_SECONDS + 10) * 1000;
export const REPORT_TIMEOUT_MS = 15_000;

/**
 * The poll answer, read loosely: each command is verified on its own (verify.ts), so one
 * malformed command is rejected by itself instead of making the whole answer unreadable.
 */
const PollAnswerSchema = z.object({ commands: z.array(z.unknown()).max(1000), serverTime: z.string() });
export type PollAnswer = z.infer<typeof PollAnswerSchema>;

/** The API answered the poll or a report with an error (not a network failure: that is ApiUnreachableError). */
export class CommandApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`HTTP ${status} ${code}: ${detail}`);
    this.name = 'CommandApiError';
  }
}

/** `accepted`: the API has the status (or had it already: a repeated final status is a retry). `refused`: it never will (404, 409, 400). */
export type ReportOutcome = { kind: 'accepted' } | { kind: 'refused'; status: number; code: string };

export interface CommandApi {
  poll(waitSeconds: number, signal: AbortSignal): Promise<PollAnswer>;
  /** Throws ApiUnreachableError or CommandApiError when worth retrying. */
  report(commandId: string, report: CommandStatusReport, signal: AbortSignal): Promise<ReportOutcome>;
}

type ApiAccess = Pick<AgentConfig, 'apiUrl' | 'deviceCredential'>;

function apiError(response: Awaited<ReturnType<typeof getJson>>): CommandApiError {
  const problem = response.problem;
  return new CommandApiError(
    response.status,
    problem ? printable(problem.code, 80) : 'NO_PROBLEM_BODY',
    problem ? printable(problem.detail || problem.title) : 'no problem description',
  );
}

/** `GET agent/commands?waitSeconds=N` and `POST agent/commands/:id/status`, with the device credential. */
export function httpCommandApi(config: ApiAccess): CommandApi {
  return {
    async poll(waitSeconds, signal) {
      const url = apiEndpoint(config.apiUrl, `agent/commands?waitSeconds=${waitSeconds}`);
      const response = await getJson(url, { timeoutMs: (waitSeconds + 10) * 1000, bearer: config.deviceCredential, signal });
      if (response.status !== 200) throw apiError(response);
      const answer = PollAnswerSchema.safeParse(response.body);
      if (!answer.success) throw new CommandApiError(response.status, 'BAD_ANSWER', 'the poll answer does not follow the contract');
      return answer.data;
    },
    async report(commandId, report, signal) {
      if (!/^[0-9a-f-]{36}$/.test(commandId)) return { kind: 'refused', status: 0, code: 'BAD_COMMAND_ID' };
      const url = apiEndpoint(config.apiUrl, `agent/commands/${commandId}/status`);
      const response = await postJson(url, report, { timeoutMs: REPORT_TIMEOUT_MS, bearer: config.deviceCredential, signal });
      if (response.status === 200 || response.status === 201) return { kind: 'accepted' };
      const error = apiError(response);
      // Not found, not this transition, not valid: asking again cannot change the answer.
      if ([400, 404, 409, 422].includes(response.status)) return { kind: 'refused', status: response.status, code: error.code };
      throw error;
    },
  };
}
