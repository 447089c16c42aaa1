'use client';

import { RemoteFileResultSchema, type RemoteFileEntry } from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { Field, FormDialog } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { joinPath, modeOctal, modeString, nameProblem, parentOf, parseMode } from '../../../../../lib/remote-access';

export type FileAction =
  | { kind: 'mkdir'; dir: string }
  | { kind: 'rename'; entry: RemoteFileEntry }
  | { kind: 'chmod'; entry: RemoteFileEntry }
  | { kind: 'delete'; entry: RemoteFileEntry };

/** The file manager's dialogs; each sends one operation and shows the device's refusal as it is. */
export function FileDialogs({
  deviceId,
  action,
  onClose,
  onDone,
}: {
  deviceId: string;
  action: FileAction | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const [text, setText] = useState('');
  const [recursive, setRecursive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<string | null>(null);

  useEffect(() => {
    setError(null);
    setLocal(null);
    setRecursive(false);
    if (!action) return;
    if (action.kind === 'mkdir') setText('');
    if (action.kind === 'rename') setText(action.entry.name);
    if (action.kind === 'chmod') setText(modeOctal(action.entry.mode));
    if (action.kind === 'delete') setText('');
  }, [action]);

  async function run(call: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await call();
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function submit() {
    if (!action) return;
    const post = (op: string, body: unknown) =>
      api(`devices/${deviceId}/files/${op}`, { method: 'POST', body, schema: RemoteFileResultSchema });
    if (action.kind === 'mkdir' || action.kind === 'rename') {
      const problem = nameProblem(text);
      if (problem) return setLocal(problem);
      if (action.kind === 'mkdir') return void run(() => post('mkdir', { path: joinPath(action.dir, text) }));
      return void run(() => post('rename', { from: action.entry.path, to: joinPath(parentOf(action.entry.path), text) }));
    }
    if (action.kind === 'chmod') {
      const mode = parseMode(text);
      if (mode === null) return setLocal('Give the mode in octal, e.g. 644 or 0755.');
      return void run(() => post('chmod', { path: action.entry.path, mode }));
    }
    if (text !== action.entry.path) return setLocal('Type the full path exactly as shown to confirm.');
    void run(() => post('delete', { path: action.entry.path, recursive, confirm: text }));
  }

  const mode = action?.kind === 'chmod' ? parseMode(text) : null;
  const titles: Record<FileAction['kind'], string> = { mkdir: 'New folder', rename: 'Rename', chmod: 'Change mode', delete: 'Delete' };
  const labels: Record<FileAction['kind'], string> = { mkdir: 'Create', rename: 'Rename', chmod: 'Change mode', delete: 'Delete for good' };
  return (
    <FormDialog
      open={action !== null}
      title={action ? titles[action.kind] : ''}
      submitLabel={action ? labels[action.kind] : ''}
      busy={busy}
      error={error}
      onSubmit={submit}
      onCancel={onClose}
    >
      {action?.kind === 'mkdir' && (
        <Field label={`New folder in ${action.dir}`} error={local}>
          <input autoFocus value={text} onChange={(e) => setText(e.target.value)} maxLength={255} />
        </Field>
      )}
      {action?.kind === 'rename' && (
        <Field label={`New name for ${action.entry.path}`} error={local}>
          <input autoFocus value={text} onChange={(e) => setText(e.target.value)} maxLength={255} />
        </Field>
      )}
      {action?.kind === 'chmod' && (
        <Field
          label={`Mode of ${action.entry.path} (octal)`}
          error={local}
          hint={
            mode !== null ? `${modeString(mode, action.entry.type)} (now ${modeString(action.entry.mode, action.entry.type)})` : undefined
          }
        >
          <input autoFocus value={text} onChange={(e) => setText(e.target.value)} maxLength={4} inputMode="numeric" />
        </Field>
      )}
      {action?.kind === 'delete' && (
        <>
          <p>
            <strong>{action.entry.path}</strong> is deleted on the device, as root, with no undo.
          </p>
          {action.entry.type === 'directory' && (
            <label style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
              <input type="checkbox" checked={recursive} onChange={(e) => setRecursive(e.target.checked)} />
              Also delete everything inside the folder
            </label>
          )}
          <Field label="Type the full path to confirm" error={local}>
            <input autoFocus value={text} onChange={(e) => setText(e.target.value)} placeholder={action.entry.path} spellCheck={false} />
          </Field>
        </>
      )}
    </FormDialog>
  );
}
