import {
  COMMAND_STATUSES,
  CommandRequestSchema,
  FINAL_COMMAND_STATUSES,
  canMutateResource,
  isCriticalCommandAction,
  type CommandAction,
  type CommandStatus,
  type Device,
  type OrganizationKind,
  type Permission,
  type Role,
} from '@xspectre/contracts';
import { countdown } from './format';
import { scriptRunText } from './scripts';

/**
 * What the console offers as remote actions and how it shows commands. Pure: the Actions menu,
 * the commands tab and the bulk actions of the inventory read it; its tests are beside it.
 */

/** Which parameter an action asks for: a systemd unit, a container, a script and its arguments, or nothing. */
export type ActionParam = 'unit' | 'container' | 'script' | 'none';

export interface ActionChoice {
  action: CommandAction;
  /** The menu entry, e.g. "Restart service…". */
  label: string;
  /** The verb for the confirmation, e.g. "Restart the service". */
  verb: string;
  param: ActionParam;
  group: 'Service' | 'Container' | 'Device';
}

/** The menu, in order. An action the contract gains later is shown in lists by its name until it gets an entry here. */
export const ACTION_CHOICES: readonly ActionChoice[] = [
  { action: 'service.restart', label: 'Restart service…', verb: 'Restart the service', param: 'unit', group: 'Service' },
  { action: 'service.start', label: 'Start service…', verb: 'Start the service', param: 'unit', group: 'Service' },
  { action: 'service.stop', label: 'Stop service…', verb: 'Stop the service', param: 'unit', group: 'Service' },
  { action: 'container.restart', label: 'Restart container…', verb: 'Restart the container', param: 'container', group: 'Container' },
  { action: 'container.start', label: 'Start container…', verb: 'Start the container', param: 'container', group: 'Container' },
  { action: 'container.stop', label: 'Stop container…', verb: 'Stop the container', param: 'container', group: 'Container' },
  { action: 'diagnostics.collect', label: 'Collect diagnostics', verb: 'Collect diagnostics', param: 'none', group: 'Device' },
  { action: 'script.run', label: 'Run script…', verb: 'Run the script', param: 'script', group: 'Device' },
  { action: 'reboot', label: 'Reboot…', verb: 'Reboot', param: 'none', group: 'Device' },
  // A one-time boot to the recovery stick in the device (agent/src/commands/recovery-boot.ts); the main disk stays the default.
  {
    action: 'reboot-to-recovery',
    label: 'Reboot to recovery stick…',
    verb: 'Reboot into the recovery stick',
    param: 'none',
    group: 'Device',
  },
  // settings.apply needs a form of its own (interval, watch list): not in the menu yet. keys.pin is the API's alone.
  {
    action: 'credential.rotate',
    label: 'Rotate device credential…',
    verb: 'Rotate the device credential',
    param: 'none',
    group: 'Device',
  },
];

const CHOICE_BY_ACTION = new Map<string, ActionChoice>(ACTION_CHOICES.map((c) => [c.action, c]));

export function actionChoice(action: string): ActionChoice | undefined {
  return CHOICE_BY_ACTION.get(action);
}

/** "Restart service", "Reboot", or the action's own name for one this console has no label for. */
export function actionLabel(action: string): string {
  const choice = CHOICE_BY_ACTION.get(action);
  return choice ? choice.label.replace(/…$/, '') : action;
}

/** "nginx.service", "gvmd", or `key=value` pairs for parameters this console does not know; "" for none. */
export function paramsText(params: Record<string, unknown>): string {
  if (typeof params.unit === 'string' && Object.keys(params).length === 1) return params.unit;
  if (typeof params.container === 'string' && Object.keys(params).length === 1) return params.container;
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** What a command's parameters say, with a script run's script named (from `scriptNames`, id → name) and its arguments. */
export function commandParamsText(
  command: { action: string; params: Record<string, unknown> },
  scriptNames: ReadonlyMap<string, string>,
): string {
  if (command.action !== 'script.run') return paramsText(command.params);
  const id = typeof command.params.scriptId === 'string' ? command.params.scriptId : undefined;
  return scriptRunText(command.params, id ? scriptNames.get(id) : undefined);
}

/** The fleet-wide list's filters (`GET commands`); an empty value is no filter. */
export interface CommandFilter {
  status?: string;
  action?: string;
  deviceId?: string;
}

/** Whether a command (a live message's) belongs in a list with these filters: a new one that does reads the first page again. */
export function matchesCommandFilter(command: { status: string; action: string; deviceId: string }, filter: CommandFilter): boolean {
  return (
    (!filter.status || command.status === filter.status) &&
    (!filter.action || command.action === filter.action) &&
    (!filter.deviceId || command.deviceId.toLowerCase() === filter.deviceId.toLowerCase())
  );
}

/** The scripts that script runs among `commands` name, each once (to look their names up). */
export function scriptIdsOf(commands: ReadonlyArray<{ action: string; params: Record<string, unknown> }>): string[] {
  const ids = new Set<string>();
  for (const c of commands) if (c.action === 'script.run' && typeof c.params.scriptId === 'string') ids.add(c.params.scriptId);
  return [...ids];
}

/** The request body for an action and the operator's input, or the reason it cannot be sent (the contract's own message). */
export function buildCommandRequest(
  action: CommandAction,
  input: string,
): { ok: true; body: { action: CommandAction; params: Record<string, string> } } | { ok: false; error: string } {
  const param = CHOICE_BY_ACTION.get(action)?.param ?? 'none';
  // A script run takes a script and a list of arguments, not one typed value: buildScriptRunParams (scripts.ts).
  if (param === 'script') return { ok: false, error: 'Choose a script.' };
  const value = input.trim();
  if (param !== 'none' && value === '') return { ok: false, error: param === 'unit' ? 'Name the unit.' : 'Choose the container.' };
  const params: Record<string, string> = param === 'none' ? {} : { [param]: value };
  const parsed = CommandRequestSchema.safeParse({ action, params });
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => i.message).join('; ') };
  return { ok: true, body: { action, params } };
}

/** The route an action is queued on: critical actions have their own (permission and step-up are checked there). */
export function commandPath(deviceId: string, action: CommandAction): string {
  return `devices/${deviceId}/${isCriticalCommandAction(action) ? 'critical-commands' : 'commands'}`;
}

/** Whether this operator may ask for an action on a device owned by an organization of `ownerKind`. */
export function mayRunAction(
  action: CommandAction,
  can: (p: Permission) => boolean,
  role: Role,
  ownerKind: OrganizationKind | undefined,
): boolean {
  const permission: Permission = isCriticalCommandAction(action) ? 'devices.critical_actions' : 'devices.manage';
  return can(permission) && (ownerKind === undefined || canMutateResource(role, ownerKind));
}

/** Why a device takes no commands now (the API would refuse with 409), or null. */
export function commandBlocker(device: Pick<Device, 'status' | 'quarantine'>): { code: string; reason: string } | null {
  if (device.status !== 'active')
    return { code: 'DEVICE_NOT_ACTIVE', reason: `The device is ${device.status}: only active (enrolled) devices take commands.` };
  if (device.quarantine)
    return {
      code: 'DEVICE_QUARANTINED',
      reason: 'The device is quarantined: commands are neither queued nor delivered until a Super Admin accepts its new hardware.',
    };
  return null;
}

export function isFinalStatus(status: CommandStatus): boolean {
  return FINAL_COMMAND_STATUSES.includes(status);
}

export type StatusTone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info';
const STATUS_TONE: Record<CommandStatus, StatusTone> = {
  queued: 'neutral',
  delivered: 'info',
  running: 'warn',
  succeeded: 'ok',
  failed: 'bad',
  rejected: 'bad',
  expired: 'neutral',
  interrupted: 'bad',
};
export function statusTone(status: CommandStatus): StatusTone {
  return STATUS_TONE[status] ?? 'neutral';
}

/** Statuses whose reason the operator must see first: the command did not do what was asked. */
export function isProblemStatus(status: CommandStatus): boolean {
  return status === 'rejected' || status === 'failed' || status === 'interrupted' || status === 'expired';
}

/**
 * Of two views of one command (the list's and a live message's), the later one in its lifecycle.
 * Statuses only move forward (contracts/src/command-transitions.ts), so their order decides; a live
 * message never carries output, so the fields it lacks are kept from the other view.
 */
export function newerCommand<T extends { status: CommandStatus }, L extends { status: CommandStatus }>(current: T, live: L): T {
  return COMMAND_STATUSES.indexOf(live.status) >= COMMAND_STATUSES.indexOf(current.status) ? ({ ...current, ...live } as T) : current;
}

/**
 * "expires in 3:12" while a queued or delivered command waits for a device that is not online
 * (an online device fetches at once, so a countdown there would be noise); "expiring…" once the
 * time passed and before the expiry arrives; null otherwise.
 */
export function expiryText(
  command: { status: CommandStatus; expiresAt: string },
  connectivity: Device['connectivity'] | undefined,
  now: number,
): string | null {
  if (command.status !== 'queued' && command.status !== 'delivered') return null;
  if (connectivity === 'online') return null;
  const left = countdown(command.expiresAt, now);
  return left === 'expired' ? 'expiring…' : `expires in ${left}`;
}
