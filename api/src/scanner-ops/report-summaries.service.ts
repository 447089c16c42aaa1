import { Injectable } from '@nestjs/common';
import {
  REPORT_SUMMARY_RETENTION_SECONDS,
  ScannerReportSummarySchema,
  type Command,
  type ScannerReportSummaryRequest,
  type ScannerReportSummaryView,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { CommandsService } from '../commands/commands.service.js';
import { DevicesService } from '../devices/devices.service.js';

/**
 * One-off summaries of one scan report (issue 19: results stay home unless asked). The routes
 * need scanner_results.view, the request a step-up too; the summary travels as the output of a
 * `scanner.report-summary` command, which every other way of reading commands redacts
 * (commands/result-bearing.ts) and the worker erases after REPORT_SUMMARY_RETENTION_SECONDS.
 * The audit rows name the device, the command and the report id, never what the summary says.
 */
@Injectable()
export class ReportSummariesService {
  constructor(
    private readonly commands: CommandsService,
    private readonly devices: DevicesService,
  ) {}

  async request(actor: Actor, deviceId: string, request: ScannerReportSummaryRequest): Promise<ScannerReportSummaryView> {
    const device = await this.devices.requireDevice(deviceId);
    if (device.type !== 'scanner') throw new AppError('DEVICE_NOT_SCANNER', `device ${device.name} is a ${device.type}`);
    const command = await this.commands.queueApiAction(actor, device.id, 'scanner.report-summary', { ...request });
    requestContext.annotate({ resourceId: device.id, details: { commandId: command.id, reportId: request.reportId } });
    return toView(command, Date.now());
  }

  async get(deviceId: string, commandId: string): Promise<ScannerReportSummaryView> {
    const device = await this.devices.requireDevice(deviceId);
    const command = await this.commands.findWithOutput(commandId);
    if (!command || command.deviceId !== device.id || command.action !== 'scanner.report-summary')
      throw new AppError('SCANNER_REPORT_SUMMARY_NOT_FOUND', `device ${device.name} has no report summary ${commandId}`);
    return toView(command, Date.now());
  }
}

function toView(command: Command, now: number): ScannerReportSummaryView {
  const expiresAt = command.finishedAt ? Date.parse(command.finishedAt) + REPORT_SUMMARY_RETENTION_SECONDS * 1000 : null;
  const view: ScannerReportSummaryView = {
    commandId: command.id,
    deviceId: command.deviceId,
    reportId: String(command.params.reportId ?? ''),
    status: command.status,
    requestedBy: command.requestedBy,
    requestedAt: command.issuedAt,
    expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    summary: null,
    error: null,
  };
  if (expiresAt !== null && expiresAt <= now) return { ...view, error: 'the summary was kept 24 hours and is gone; request it again' };
  if (command.status === 'succeeded') {
    const parsed = parseSummary(command.stdout);
    return parsed.ok ? { ...view, summary: parsed.summary } : { ...view, error: parsed.error };
  }
  if (['failed', 'rejected', 'expired', 'interrupted'].includes(command.status))
    return { ...view, error: (command.reason ?? lastLine(command.stderr) ?? `the command ${command.status}`).slice(0, 500) };
  return view;
}

/** The agent's last stdout line, checked against the contract: anything else is an error for the operator, never a 500. */
function parseSummary(stdout: string | null): { ok: true; summary: ScannerReportSummaryView['summary'] } | { ok: false; error: string } {
  const line = lastLine(stdout);
  if (!line) return { ok: false, error: 'the agent reported success without a summary line' };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, error: 'the summary line is not JSON' };
  }
  const parsed = ScannerReportSummarySchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      error: `the summary does not match the contract: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(summary)'}: ${i.message}`)
        .join('; ')}`.slice(0, 500),
    };
  return { ok: true, summary: parsed.data };
}

function lastLine(text: string | null): string | null {
  const line = text?.trim().split('\n').at(-1)?.trim();
  return line ? line : null;
}
