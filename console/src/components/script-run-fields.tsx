'use client';

import { SCRIPT_ARGS_MAX, type ScriptSummary } from '@xspectre/contracts';
import Link from 'next/link';
import { useId } from 'react';
import { useSession } from '../lib/session';
import styles from './command-actions.module.css';
import { Button, Empty, Field, KeyValues, Loading, ProblemView, uiStyles } from './ui';

/**
 * The script-run part of the Actions dialog: a runnable script from the library and its
 * arguments, one field per argument (each is one argv entry on the device, never split at spaces
 * or passed through a shell). The chosen script's SHA-256 is shown: that version is what the API
 * signs for the device.
 */
export function ScriptRunFields({
  scripts,
  scriptsError,
  onRetry,
  scriptId,
  onScript,
  args,
  onArgs,
  argErrors,
  scriptError,
}: {
  scripts: readonly ScriptSummary[] | undefined;
  scriptsError: unknown;
  onRetry: () => void;
  scriptId: string;
  onScript: (id: string) => void;
  args: readonly string[];
  onArgs: (args: string[]) => void;
  argErrors: Record<number, string>;
  scriptError: string | null;
}) {
  const { can } = useSession();
  const argsId = useId();
  if (scripts === undefined)
    return scriptsError ? <ProblemView error={scriptsError} onRetry={onRetry} /> : <Loading label="Loading scripts…" />;
  if (scripts.length === 0)
    return (
      <Empty>
        The script library has no runnable script.{' '}
        {can('scripts.manage') ? <Link href="/admin/scripts">Add one in the script library.</Link> : 'A Super Admin adds them.'}
      </Empty>
    );
  const script = scripts.find((s) => s.id === scriptId);
  return (
    <>
      <Field label="Script" error={scriptError}>
        <select value={scriptId} onChange={(e) => onScript(e.target.value)} autoFocus>
          <option value="">Choose a script…</option>
          {scripts.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} ({s.interpreter})
            </option>
          ))}
        </select>
      </Field>
      {script && (
        <div className={styles.script} data-testid="script-run-script">
          {script.description && <p style={{ margin: '0 0 8px' }}>{script.description}</p>}
          <KeyValues
            rows={[
              ['Interpreter', script.interpreter],
              ['Timeout', `${script.timeoutSeconds} s`],
              [
                'SHA-256',
                <span className="mono" key="sha" data-testid="script-run-sha256" style={{ wordBreak: 'break-all' }}>
                  {script.sha256}
                </span>,
              ],
            ]}
          />
        </div>
      )}
      <fieldset className={styles.args} aria-describedby={argsId}>
        <legend>Arguments</legend>
        <small id={argsId} className={uiStyles.faint}>
          Each field is one argument, passed as it is (no shell: spaces and quotes are part of it). At most {SCRIPT_ARGS_MAX}.
        </small>
        {args.length === 0 && <span className={uiStyles.muted}>No arguments.</span>}
        <ol className={styles.argList} data-testid="script-args">
          {args.map((arg, index) => (
            <li key={index}>
              <div className={styles.argRow}>
                <input
                  value={arg}
                  onChange={(e) => onArgs(args.map((a, i) => (i === index ? e.target.value : a)))}
                  aria-label={`Argument ${index + 1}`}
                  aria-invalid={argErrors[index] ? true : undefined}
                  spellCheck={false}
                  autoComplete="off"
                  className="mono"
                />
                <Button size="small" onClick={() => onArgs(args.filter((_, i) => i !== index))} aria-label={`Remove argument ${index + 1}`}>
                  Remove
                </Button>
              </div>
              {argErrors[index] && <span className={uiStyles.fieldError}>{argErrors[index]}</span>}
            </li>
          ))}
        </ol>
        <div>
          <Button size="small" onClick={() => onArgs([...args, ''])} disabled={args.length >= SCRIPT_ARGS_MAX}>
            Add argument
          </Button>
        </div>
      </fieldset>
    </>
  );
}
