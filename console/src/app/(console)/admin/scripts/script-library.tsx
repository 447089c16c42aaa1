'use client';

import {
  DeleteScriptResultSchema,
  SCRIPT_INTERPRETERS,
  SCRIPT_TIMEOUT_MAX_SECONDS,
  SCRIPT_TIMEOUT_MIN_SECONDS,
  ScriptPageSchema,
  ScriptSchema,
  type Script,
  type ScriptInterpreter,
  type ScriptSummary,
} from '@xspectre/contracts';
import { useId, useState, type FormEvent } from 'react';
import { TimeAgo } from '../../../../components/device-badges';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Empty,
  Field,
  Forbidden,
  KeyValues,
  Loading,
  Pager,
  ProblemView,
  uiStyles,
} from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { bytes, dateTime } from '../../../../lib/format';
import {
  contentSize,
  emptyScriptForm,
  scriptFormOf,
  shortSha,
  validateScriptForm,
  type ScriptForm,
  type ScriptFormField,
} from '../../../../lib/scripts';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { rememberName } from '../../../../lib/use-names';
import { useUrlState } from '../../../../lib/use-url-state';
import styles from './script-library.module.css';

const PAGE_SIZE = 50;

type Editor = { mode: 'new' } | { mode: 'edit'; script: Script };

/**
 * The script library (`GET scripts`): what operators can run on devices with "Run script…".
 * Everyone who sees devices reads it (commands name its scripts); Super Admins (`scripts.manage`)
 * add, replace and delete scripts, each change behind a fresh TOTP code (`useCritical`). A deleted
 * script that commands ran is archived by the API instead: kept for their history, never run again.
 */
export function ScriptLibrary() {
  const { can } = useSession();
  const allowed = can('devices.view');
  const manage = can('scripts.manage');
  const critical = useCritical();
  const [params, setParams] = useUrlState();
  const archived = params.get('archived') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const selected = params.get('script');
  // Bumped after a change: the list and the open script are read again.
  const [version, setVersion] = useState(0);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [deleting, setDeleting] = useState<ScriptSummary | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const list = useResource(allowed ? JSON.stringify({ archived, offset, version }) : null, (signal) =>
    api('scripts', { query: { archived: archived || undefined, limit: PAGE_SIZE, offset }, schema: ScriptPageSchema, signal }),
  );
  const script = useResource(allowed && selected ? `script:${selected}:${version}` : null, (signal) =>
    api(`scripts/${selected}`, { schema: ScriptSchema, signal }),
  );

  if (!allowed) {
    return (
      <>
        <PageHeader title="Script library" />
        <Forbidden permission="devices.view" what="read the script library" />
      </>
    );
  }

  function select(id: string | null) {
    setEditor(null);
    setParams({ script: id }, false);
  }

  async function remove() {
    if (!deleting) return;
    const target = deleting;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const result = await critical(() => api(`scripts/${target.id}`, { method: 'DELETE', schema: DeleteScriptResultSchema }));
      setNotice(
        result.outcome === 'archived'
          ? `“${target.name}” was archived: commands ran it, so it stays for their history; it can no longer be run or changed.`
          : `“${target.name}” was deleted.`,
      );
      if (result.outcome === 'deleted' && selected === target.id) setParams({ script: null }, false);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setDeleting(null);
    }
  }

  function saved(saved: Script, created: boolean) {
    rememberName('scripts', saved.id, saved.name);
    setEditor(null);
    setNotice(created ? `“${saved.name}” was added.` : `“${saved.name}” was saved.`);
    setParams({ script: saved.id }, false);
    setVersion((v) => v + 1);
  }

  const open = selected ? script.data : undefined;
  return (
    <>
      <PageHeader
        title="Script library"
        subtitle="Scripts operators run on devices as root with “Run script…” in a device’s Actions menu. Only Super Admins change them, each change with a fresh authenticator code."
        actions={
          manage ? (
            <Button
              variant="primary"
              onClick={() => {
                setNotice(null);
                setEditor({ mode: 'new' });
              }}
            >
              New script
            </Button>
          ) : undefined
        }
      />
      {notice && (
        <div className={styles.notice} role="status" data-testid="script-notice">
          {notice}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
      <div className={styles.layout}>
        <Card
          title="Scripts"
          actions={
            <Field label="Show">
              <select value={archived} onChange={(e) => setParams({ archived: e.target.value || null })} aria-label="Filter scripts">
                <option value="">All</option>
                <option value="false">Runnable</option>
                <option value="true">Archived</option>
              </select>
            </Field>
          }
        >
          {list.data === undefined ? (
            list.error ? (
              <ProblemView error={list.error} onRetry={list.reload} />
            ) : (
              <Loading label="Loading scripts…" />
            )
          ) : list.data.items.length === 0 ? (
            <Empty>
              {archived === 'true'
                ? 'No archived scripts.'
                : manage
                  ? 'The library is empty. “New script” adds one.'
                  : 'The library is empty. A Super Admin adds scripts.'}
            </Empty>
          ) : (
            <>
              <div className={styles.scroll}>
                <table className={uiStyles.table} data-testid="scripts-table">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Interpreter</th>
                      <th>SHA-256</th>
                      <th>Timeout</th>
                      <th>Updated</th>
                      <th>Status</th>
                      {manage && (
                        <th>
                          <span className="sr-only">Actions</span>
                        </th>
                      )}
                    </tr>
                  </thead>
                  <tbody>
                    {list.data.items.map((s) => (
                      <tr
                        key={s.id}
                        data-script-id={s.id}
                        className={s.id === selected ? styles.selected : styles.row}
                        aria-selected={s.id === selected}
                        onClick={() => select(s.id)}
                      >
                        <td>
                          <button
                            type="button"
                            className={styles.nameButton}
                            aria-pressed={s.id === selected}
                            onClick={(e) => {
                              e.stopPropagation();
                              select(s.id);
                            }}
                          >
                            {s.name}
                          </button>
                        </td>
                        <td>{s.interpreter}</td>
                        <td className="mono" title={s.sha256}>
                          {shortSha(s.sha256)}
                        </td>
                        <td className={styles.nowrap}>{s.timeoutSeconds} s</td>
                        <td>
                          <TimeAgo iso={s.updatedAt} />
                          <div className={uiStyles.faint}>{s.updatedBy}</div>
                        </td>
                        <td>{s.archived ? <Badge tone="neutral">archived</Badge> : <Badge tone="ok">runnable</Badge>}</td>
                        {manage && (
                          <td className={styles.actions} onClick={(e) => e.stopPropagation()}>
                            {!s.archived && (
                              <Button size="small" variant="danger" onClick={() => setDeleting(s)} aria-label={`Delete ${s.name}`}>
                                Delete
                              </Button>
                            )}
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {list.data.total > PAGE_SIZE && (
                <Pager total={list.data.total} limit={PAGE_SIZE} offset={offset} onOffset={(o) => setParams({ offset: String(o) })} />
              )}
            </>
          )}
        </Card>
        {editor ? (
          <ScriptEditor
            key={editor.mode === 'edit' ? editor.script.id : 'new'}
            editing={editor.mode === 'edit' ? editor.script : null}
            onSaved={saved}
            onCancel={() => setEditor(null)}
          />
        ) : selected ? (
          <Card
            className={styles.side}
            title={<h2>{open ? open.name : 'Script'}</h2>}
            actions={
              <span style={{ display: 'flex', gap: 6 }}>
                {manage && open && !open.archived && (
                  <Button
                    size="small"
                    onClick={() => {
                      setNotice(null);
                      setEditor({ mode: 'edit', script: open });
                    }}
                  >
                    Edit
                  </Button>
                )}
                <Button size="small" onClick={() => select(null)} aria-label="Close the script">
                  Close
                </Button>
              </span>
            }
          >
            {script.error && !open ? (
              <ProblemView error={script.error} onRetry={script.reload} />
            ) : !open ? (
              <Loading label="Loading the script…" />
            ) : (
              <ScriptView script={open} />
            )}
          </Card>
        ) : null}
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the script “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p style={{ margin: 0 }}>
          A script that commands ran is archived instead: it stays for their history and its name becomes free, but it can no longer be run
          or changed. Commands already queued with it are not fetched any more. A change to the library needs a fresh code from your
          authenticator app.
        </p>
      </ConfirmDialog>
    </>
  );
}

/** One script, read-only: what it is, who changed it, and its content as text. */
function ScriptView({ script }: { script: Script }) {
  return (
    <div data-testid="script-view" style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
      {script.archived && <Badge tone="neutral">archived: kept for the commands that ran it; it cannot be run or changed</Badge>}
      {script.description && <p style={{ margin: 0 }}>{script.description}</p>}
      <KeyValues
        rows={[
          ['Interpreter', script.interpreter],
          ['Timeout', `${script.timeoutSeconds} s`],
          ['Size', bytes(script.sizeBytes)],
          [
            'SHA-256',
            <span className="mono" key="sha" data-testid="script-sha256" style={{ wordBreak: 'break-all' }}>
              {script.sha256}
            </span>,
          ],
          ['Created', `${dateTime(script.createdAt)} by ${script.createdBy}`],
          ['Updated', `${dateTime(script.updatedAt)} by ${script.updatedBy}`],
        ]}
      />
      <pre className={styles.code} data-testid="script-content" tabIndex={0}>
        {script.content}
      </pre>
    </div>
  );
}

/** Add or replace a script: checked with the contract's schema before sending; the API's refusal (a taken name) is shown here. */
function ScriptEditor({
  editing,
  onSaved,
  onCancel,
}: {
  editing: Script | null;
  onSaved: (s: Script, created: boolean) => void;
  onCancel: () => void;
}) {
  const critical = useCritical();
  const contentId = useId();
  const [form, setForm] = useState<ScriptForm>(() => (editing ? scriptFormOf(editing) : emptyScriptForm()));
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const validation = validateScriptForm(form);
  const errors: Partial<Record<ScriptFormField, string>> = touched && !validation.ok ? validation.errors : {};
  const size = contentSize(form.content);
  const set = (changes: Partial<ScriptForm>) => setForm((f) => ({ ...f, ...changes }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (!validation.ok) return;
    const body = validation.body;
    setBusy(true);
    setError(null);
    try {
      const saved = await critical(() =>
        editing
          ? api(`scripts/${editing.id}`, { method: 'PUT', body, schema: ScriptSchema })
          : api('scripts', { method: 'POST', body, schema: ScriptSchema }),
      );
      onSaved(saved, editing === null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card className={styles.side} title={editing ? `Edit “${editing.name}”` : 'New script'}>
      <form className={styles.form} onSubmit={submit} noValidate data-testid="script-editor">
        <Field label="Name" error={errors.name}>
          <input
            value={form.name}
            onChange={(e) => set({ name: e.target.value })}
            maxLength={120}
            autoFocus
            aria-invalid={errors.name ? true : undefined}
          />
        </Field>
        <Field label="Description" error={errors.description}>
          <textarea
            value={form.description}
            onChange={(e) => set({ description: e.target.value })}
            rows={2}
            aria-invalid={errors.description ? true : undefined}
          />
        </Field>
        <div className={styles.formRow}>
          <Field label="Interpreter" error={errors.interpreter}>
            <select value={form.interpreter} onChange={(e) => set({ interpreter: e.target.value as ScriptInterpreter })}>
              {SCRIPT_INTERPRETERS.map((i) => (
                <option key={i}>{i}</option>
              ))}
            </select>
          </Field>
          <Field label="Timeout (seconds)" error={errors.timeoutSeconds}>
            <input
              type="number"
              inputMode="numeric"
              min={SCRIPT_TIMEOUT_MIN_SECONDS}
              max={SCRIPT_TIMEOUT_MAX_SECONDS}
              step={1}
              value={form.timeoutSeconds}
              onChange={(e) => set({ timeoutSeconds: e.target.value })}
              aria-invalid={errors.timeoutSeconds ? true : undefined}
            />
          </Field>
        </div>
        <Field
          label="Content"
          error={errors.content}
          hint={
            <span className={`${styles.counter} ${size.over ? styles.over : ''}`} data-testid="script-size" id={contentId}>
              {size.text} (UTF-8). Run as {form.interpreter} with the arguments of each run; a run that takes longer than the timeout is
              stopped.
            </span>
          }
        >
          <textarea
            className={styles.content}
            value={form.content}
            onChange={(e) => set({ content: e.target.value })}
            rows={18}
            spellCheck={false}
            autoComplete="off"
            aria-describedby={contentId}
            aria-invalid={errors.content ? true : undefined}
          />
        </Field>
        {editing && (
          <p className={uiStyles.muted} style={{ margin: 0 }}>
            Commands queued before this change keep the version they were signed with ({shortSha(editing.sha256)}…).
          </p>
        )}
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save script' : 'Add script'}
          </Button>
        </div>
      </form>
    </Card>
  );
}
