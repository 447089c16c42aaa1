'use client';

import {
  BulkCommandResultSchema,
  canMutateResource,
  COMMAND_TTL_MS,
  CommandSchema,
  isCriticalCommandAction,
  type BulkCommandResult,
  type Command,
  type CommandAction,
  type Device,
  type OrganizationKind,
  type Role,
  ScriptPageSchema,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useId, useState } from 'react';
import { api } from '../lib/api-client';
import { ACTION_CHOICES, buildCommandRequest, commandBlocker, commandPath, mayRunAction, type ActionChoice } from '../lib/commands';
import { buildScriptRunParams } from '../lib/scripts';
import { useSession } from '../lib/session';
import { useResource } from '../lib/use-api';
import styles from './command-actions.module.css';
import { MenuButton } from './menu';
import { ScriptRunFields } from './script-run-fields';
import { useCritical } from './step-up';
import { Badge, Button, Field, ProblemView, uiStyles, useModalDialog } from './ui';

/** A device an action is asked for, with what decides whether it can take one. */
export interface CommandTarget extends Pick<Device, 'id' | 'name' | 'status' | 'quarantine'> {
  /** The owner's kind (internal infrastructure is read-only for SOC operators); undefined while unknown. */
  ownerKind?: OrganizationKind;
}

/** What the device reported, offered as choices (the operator may still type any valid name). */
export interface TargetInventory {
  units?: readonly string[];
  containers?: readonly string[];
}

const TTL_MINUTES = COMMAND_TTL_MS / 60_000;

/**
 * The Actions menu for one device (the device page) or a selection (the inventory). Entries the
 * role may not run are hidden; for one device that takes no commands (quarantined, not active) the
 * entries are disabled and the reason is shown. Picking one opens the confirmation.
 */
export function CommandActions({
  targets,
  inventory,
  onQueued,
  label = 'Actions',
}: {
  targets: CommandTarget[];
  inventory?: TargetInventory;
  /** Called after a single device's command was queued. */
  onQueued?: (command: Command) => void;
  label?: string;
}) {
  const { me, can } = useSession();
  const [choice, setChoice] = useState<ActionChoice | null>(null);
  const single = targets.length === 1 ? targets[0] : undefined;
  // For a selection the API answers per device (an internal device a SOC operator may not change
  // is one refused entry); the menu only needs the permission.
  const allowed = ACTION_CHOICES.filter((c) => mayRunAction(c.action, can, me.role, single ? single.ownerKind : undefined));
  if (allowed.length === 0 || targets.length === 0) return null;
  const blocker = single ? commandBlocker(single) : null;
  return (
    <>
      <MenuButton
        label={label}
        testId="command-actions"
        note={blocker ? blocker.reason : undefined}
        items={allowed.map((c) => ({
          key: c.action,
          label: c.label,
          group: c.group,
          danger: c.action === 'reboot' || c.action === 'reboot-to-recovery' || c.action.endsWith('.stop'),
          disabled: blocker !== null,
          onSelect: () => setChoice(c),
        }))}
      />
      {choice && (
        <CommandDialog choice={choice} targets={targets} inventory={inventory} onQueued={onQueued} onClose={() => setChoice(null)} />
      )}
    </>
  );
}

function CommandDialog({
  choice,
  targets,
  inventory,
  onQueued,
  onClose,
}: {
  choice: ActionChoice;
  targets: CommandTarget[];
  inventory?: TargetInventory;
  onQueued?: (command: Command) => void;
  onClose: () => void;
}) {
  const ref = useModalDialog(true);
  const titleId = useId();
  const listId = useId();
  const critical = useCritical();
  const { me } = useSession();
  const [input, setInput] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<BulkCommandResult | null>(null);
  const [scriptId, setScriptId] = useState('');
  const [args, setArgs] = useState<string[]>([]);
  const isScript = choice.param === 'script';
  // Runnable scripts only: the API refuses an archived one (SCRIPT_ARCHIVED).
  const scripts = useResource(isScript ? 'scripts:runnable' : null, (signal) =>
    api('scripts', { query: { archived: 'false', limit: 500 }, schema: ScriptPageSchema, signal }),
  );
  const script = scripts.data?.items.find((s) => s.id === scriptId);
  const bulk = targets.length > 1;
  const isCritical = isCriticalCommandAction(choice.action);
  const scriptRun = isScript ? buildScriptRunParams(scriptId, args) : null;
  const request: { ok: true; body: { action: CommandAction; params: Record<string, unknown> } } | { ok: false; error: string } = scriptRun
    ? scriptRun.ok
      ? { ok: true, body: { action: choice.action, params: scriptRun.params } }
      : { ok: false, error: scriptRun.error }
    : buildCommandRequest(choice.action, input);
  const inputError = touched && !request.ok ? request.error : null;
  const containers = !bulk ? inventory?.containers : undefined;
  const names = new Map(targets.map((t) => [t.id, t.name]));
  const refusals = new Map(targets.map((t) => [t.id, refusalOf(t, me.role)]));
  const blocked = targets.filter((t) => refusals.get(t.id) !== null);
  const what = isScript ? ` ${script?.name ?? '(script)'}` : choice.param === 'none' ? '' : ` ${input.trim() || `(${choice.param})`}`;

  async function submit() {
    setTouched(true);
    if (!request.ok) return;
    setBusy(true);
    setError(null);
    try {
      if (bulk) {
        const path = isCritical ? 'critical-commands/bulk' : 'commands/bulk';
        const send = () =>
          api(path, { method: 'POST', body: { deviceIds: targets.map((t) => t.id), ...request.body }, schema: BulkCommandResultSchema });
        setResult(await (isCritical ? critical(send) : send()));
      } else {
        const send = () => api(commandPath(targets[0]!.id, choice.action), { method: 'POST', body: request.body, schema: CommandSchema });
        const command = await (isCritical ? critical(send) : send());
        onClose();
        onQueued?.(command);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog ref={ref} onCancel={onClose} aria-labelledby={titleId} className={styles.dialog} data-testid="command-dialog">
      <form
        className={uiStyles.dialogForm}
        onSubmit={(e) => {
          e.preventDefault();
          if (result) onClose();
          else void submit();
        }}
      >
        <h2 id={titleId}>
          {choice.verb}
          {bulk ? ` on ${targets.length} devices` : ` on ${targets[0]!.name}`}?
        </h2>
        {result ? (
          <BulkOutcome result={result} names={names} />
        ) : (
          <>
            {isScript && (
              <ScriptRunFields
                scripts={scripts.data?.items}
                scriptsError={scripts.error}
                onRetry={scripts.reload}
                scriptId={scriptId}
                onScript={setScriptId}
                args={args}
                onArgs={setArgs}
                argErrors={touched && scriptRun && !scriptRun.ok ? scriptRun.argErrors : {}}
                scriptError={touched && !scriptId ? 'Choose a script.' : null}
              />
            )}
            {isScript && scriptId && inputError ? (
              <span className={uiStyles.fieldError} role="alert">
                {inputError}
              </span>
            ) : null}
            {choice.param === 'unit' && (
              <Field label="Unit" error={inputError} hint="A systemd unit, e.g. nginx.service">
                <input
                  value={input}
                  onChange={(e) => setInput(e.target.value)}
                  onBlur={() => setTouched(true)}
                  list={inventory?.units?.length ? listId : undefined}
                  autoFocus
                  spellCheck={false}
                  autoComplete="off"
                  className="mono"
                  aria-invalid={inputError ? true : undefined}
                />
                {inventory?.units?.length ? (
                  <datalist id={listId}>
                    {inventory.units.map((u) => (
                      <option key={u} value={u} />
                    ))}
                  </datalist>
                ) : null}
              </Field>
            )}
            {choice.param === 'container' &&
              (containers && containers.length > 0 ? (
                <Field label="Container" error={inputError} hint="As the device reported them">
                  <select value={input} onChange={(e) => setInput(e.target.value)} onBlur={() => setTouched(true)} autoFocus>
                    <option value="">Choose a container…</option>
                    {containers.map((c) => (
                      <option key={c} value={c}>
                        {c}
                      </option>
                    ))}
                  </select>
                </Field>
              ) : (
                <Field label="Container" error={inputError} hint="A container name or id">
                  <input
                    value={input}
                    onChange={(e) => setInput(e.target.value)}
                    onBlur={() => setTouched(true)}
                    autoFocus
                    spellCheck={false}
                    autoComplete="off"
                    className="mono"
                    aria-invalid={inputError ? true : undefined}
                  />
                </Field>
              ))}
            <div>
              <p style={{ margin: '0 0 6px' }} data-testid="command-summary">
                <strong>
                  {choice.verb}
                  {what}
                </strong>
                {isScript && script && args.length > 0 ? (
                  <>
                    {' '}
                    with {args.length} argument{args.length === 1 ? '' : 's'}
                  </>
                ) : null}{' '}
                on {bulk ? `these ${targets.length} devices` : 'this device'}:
              </p>
              <ul className={styles.targets} data-testid="command-targets">
                {targets.map((t) => {
                  const refusal = refusals.get(t.id);
                  return (
                    <li key={t.id}>
                      <strong>{t.name}</strong>
                      {refusal && (
                        <>
                          {' '}
                          <Badge tone="warn">{refusal}: will be refused</Badge>
                        </>
                      )}
                    </li>
                  );
                })}
              </ul>
            </div>
            <p className={uiStyles.muted} style={{ margin: 0 }}>
              The command is signed for {bulk ? 'each device' : 'the device'} and valid for {TTL_MINUTES} minutes: a device that does not
              fetch it by then never runs it.{' '}
              {bulk && blocked.length > 0 ? 'Devices that take no commands are refused; the others go on.' : ''}
            </p>
            {isCritical && (
              <p className={styles.critical} role="note">
                {choice.verb} is a critical action: it needs a fresh code from your authenticator app. You are asked for it before anything
                is queued, unless you confirmed one in the last few minutes.
              </p>
            )}
          </>
        )}
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          {result ? (
            <Button type="submit" variant="primary">
              Done
            </Button>
          ) : (
            <>
              <Button onClick={onClose} disabled={busy}>
                Cancel
              </Button>
              <Button
                type="submit"
                variant={
                  choice.action === 'reboot' || choice.action === 'reboot-to-recovery' || choice.action.endsWith('.stop')
                    ? 'danger'
                    : 'primary'
                }
                disabled={busy}
              >
                {busy ? 'Queuing…' : `${choice.verb}${bulk ? ` on ${targets.length} devices` : ''}`}
              </Button>
            </>
          )}
        </div>
      </form>
    </dialog>
  );
}

/** Why the API will refuse this device (said before sending, the API decides), or null. */
function refusalOf(target: CommandTarget, role: Role): string | null {
  const blocker = commandBlocker(target);
  if (blocker) return blocker.code === 'DEVICE_QUARANTINED' ? 'quarantined' : target.status;
  if (target.ownerKind && !canMutateResource(role, target.ownerKind)) return 'internal infrastructure';
  return null;
}

/** Each device's outcome of a bulk request: its queued command, or why it got none (the API's code and message). */
function BulkOutcome({ result, names }: { result: BulkCommandResult; names: Map<string, string> }) {
  return (
    <div data-testid="bulk-outcome">
      <p style={{ margin: '0 0 8px' }}>
        <strong>{result.queued}</strong> of {result.requested} queued
        {result.refused > 0 ? (
          <>
            , <strong>{result.refused}</strong> refused
          </>
        ) : null}
        .
      </p>
      <table className={uiStyles.table}>
        <thead>
          <tr>
            <th>Device</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {result.items.map((item) => (
            <tr key={item.deviceId}>
              <td>
                <Link href={`/devices/${item.deviceId}/commands`}>{names.get(item.deviceId) ?? item.deviceId}</Link>
              </td>
              <td>
                {item.command ? (
                  <Link href={`/devices/${item.deviceId}/commands?command=${item.command.id}`}>
                    <Badge tone="ok">queued</Badge>
                  </Link>
                ) : item.error ? (
                  <span>
                    <Badge tone="bad">refused</Badge> {item.error.message} <code className={uiStyles.faint}>{item.error.code}</code>
                  </span>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
