'use client';

import { RemoteFileListSchema, type RemoteFileEntry } from '@xspectre/contracts';
import { useRef, useState, type DragEvent } from 'react';
import { Button, Empty, Loading, Pager, ProblemView, uiStyles } from '../../../../../components/ui';
import { api, problemOf } from '../../../../../lib/api-client';
import { bytes, dateTime } from '../../../../../lib/format';
import {
  breadcrumbs,
  downloadHref,
  joinPath,
  modeOctal,
  modeString,
  parentOf,
  remoteAccessRefusal,
  uploadFile,
} from '../../../../../lib/remote-access';
import { useSession } from '../../../../../lib/session';
import { useResource } from '../../../../../lib/use-api';
import { useDeviceFrame } from '../device-frame';
import styles from './device-files.module.css';
import { FileDialogs, type FileAction } from './file-dialogs';

const PAGE = 200;
type Sort = 'name' | 'size' | 'modifiedAt' | 'type';

interface Upload {
  id: number;
  name: string;
  size: number;
  sent: number;
  state: 'sending' | 'done' | 'failed';
  error?: string;
  abort: () => void;
}

/**
 * The files tab: the device's file system over SFTP (as root through sudo on the device).
 * Directories first, sorted and paged by the API; transfers stream through dedicated routes
 * (download is a plain link with the cookie, upload an XHR PUT with progress).
 */
export function DeviceFiles() {
  const { device, org } = useDeviceFrame();
  const { me, can } = useSession();
  const refusal = remoteAccessRefusal(me.role, can('devices.manage'), org?.kind, device);
  const [path, setPath] = useState('/');
  const [sort, setSort] = useState<Sort>('name');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [offset, setOffset] = useState(0);
  const [action, setAction] = useState<FileAction | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dropping, setDropping] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const uploadId = useRef(0);

  const list = useResource(refusal ? null : `files:${device.id}:${path}:${sort}:${order}:${offset}`, (signal) =>
    api(`devices/${device.id}/files`, { query: { path, sort, order, limit: PAGE, offset }, schema: RemoteFileListSchema, signal }),
  );

  if (refusal) {
    return (
      <div style={{ marginTop: 12 }}>
        <ProblemView
          problem={{ type: 'about:blank', title: 'No file manager', status: 0, detail: refusal, code: 'REMOTE_ACCESS_UNAVAILABLE' }}
        />
      </div>
    );
  }

  function go(to: string) {
    setPath(to);
    setOffset(0);
  }
  function sortBy(column: Sort) {
    if (column === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(column);
      setOrder('asc');
    }
    setOffset(0);
  }
  function upload(files: FileList | File[]) {
    const dir = path;
    for (const file of Array.from(files)) {
      const id = ++uploadId.current;
      const set = (change: Partial<Upload>) => setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...change } : u)));
      const handle = uploadFile(device.id, joinPath(dir, file.name), file, false, (sent) => set({ sent }));
      setUploads((all) => [...all, { id, name: file.name, size: file.size, sent: 0, state: 'sending', abort: handle.abort }]);
      handle.done.then(
        () => {
          set({ state: 'done', sent: file.size });
          list.reload();
        },
        (e: unknown) => set({ state: 'failed', error: `${problemOf(e).detail} (${problemOf(e).code})` }),
      );
    }
  }
  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDropping(false);
    if (e.dataTransfer.files.length > 0) upload(e.dataTransfer.files);
  }

  const header = (column: Sort, label: string) => (
    <th aria-sort={sort === column ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <button type="button" className={uiStyles.sortButton} onClick={() => sortBy(column)}>
        {label}
        {sort === column ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  return (
    <div
      className={`${styles.drop} ${dropping ? styles.dropping : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDropping(true);
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={onDrop}
      data-testid="file-manager"
    >
      <div className={styles.bar}>
        <nav className={styles.crumbs} aria-label="Path" data-testid="file-breadcrumbs">
          {breadcrumbs(path).map((c, i, all) => (
            <span key={c.path}>
              <button
                type="button"
                className={styles.crumb}
                onClick={() => go(c.path)}
                aria-current={i === all.length - 1 ? 'location' : undefined}
              >
                {c.label}
              </button>
              {i > 0 && i < all.length - 1 ? '/' : ''}
            </span>
          ))}
        </nav>
        <span className={styles.spacer} />
        <Button size="small" onClick={() => go(parentOf(path))} disabled={path === '/'}>
          ↑ Up
        </Button>
        <Button size="small" onClick={list.reload}>
          Refresh
        </Button>
        <Button size="small" onClick={() => setAction({ kind: 'mkdir', dir: path })}>
          New folder…
        </Button>
        <Button size="small" variant="primary" onClick={() => input.current?.click()}>
          Upload…
        </Button>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          data-testid="file-upload-input"
          onChange={(e) => {
            if (e.target.files) upload(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      <p className={styles.hint}>
        Drop files here to upload them into <code>{path}</code>. Files are read and written as root on {device.name}; every operation is
        audited.
      </p>
      {uploads.length > 0 && (
        <div className={styles.uploads} data-testid="uploads">
          {uploads.map((u) => (
            <div key={u.id} className={styles.upload} data-state={u.state}>
              <span title={u.name}>{u.name}</span>
              <progress max={u.size || 1} value={u.state === 'done' ? u.size || 1 : u.sent} aria-label={`Upload of ${u.name}`} />
              <span>
                {u.state === 'sending' && `${bytes(u.sent)} of ${bytes(u.size)}`}
                {u.state === 'done' && 'uploaded'}
                {u.state === 'failed' && <span style={{ color: 'var(--bad)' }}>{u.error}</span>}
              </span>
              {u.state === 'sending' ? (
                <Button size="small" onClick={u.abort}>
                  Cancel
                </Button>
              ) : (
                <Button size="small" onClick={() => setUploads((all) => all.filter((x) => x.id !== u.id))}>
                  Dismiss
                </Button>
              )}
            </div>
          ))}
        </div>
      )}
      {list.error ? <ProblemView error={list.error} onRetry={list.reload} /> : null}
      {!list.data && !list.error && <Loading label={`Reading ${path}…`} />}
      {list.data && (
        <>
          <table className={uiStyles.table} style={{ width: '100%' }} data-testid="file-table">
            <thead>
              <tr>
                {header('name', 'Name')}
                {header('size', 'Size')}
                <th>Owner:group</th>
                <th>Mode</th>
                {header('modifiedAt', 'Modified')}
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((f) => (
                <FileRow key={f.path} file={f} deviceId={device.id} onOpen={() => go(f.path)} onAction={setAction} />
              ))}
            </tbody>
          </table>
          {list.data.items.length === 0 && <Empty>{path} is empty.</Empty>}
          {list.data.total > PAGE && <Pager total={list.data.total} limit={PAGE} offset={offset} onOffset={setOffset} />}
        </>
      )}
      <FileDialogs
        deviceId={device.id}
        action={action}
        onClose={() => setAction(null)}
        onDone={() => {
          setAction(null);
          list.reload();
        }}
      />
    </div>
  );
}

function FileRow({
  file,
  deviceId,
  onOpen,
  onAction,
}: {
  file: RemoteFileEntry;
  deviceId: string;
  onOpen: () => void;
  onAction: (a: FileAction) => void;
}) {
  const isDir = file.type === 'directory';
  return (
    <tr onDoubleClick={isDir ? onOpen : undefined} data-testid="file-row" data-name={file.name}>
      <td>
        {isDir ? (
          <button type="button" className={`${styles.name} ${styles.dir}`} onClick={onOpen} title="Open">
            {file.name}/
          </button>
        ) : (
          <span className={styles.name}>
            {file.type === 'symlink' ? '↪ ' : ''}
            {file.name}
            {file.linkTarget ? <span className={uiStyles.faint}> → {file.linkTarget}</span> : null}
          </span>
        )}
      </td>
      <td className={styles.mono}>{isDir ? '—' : bytes(file.size)}</td>
      <td className={styles.mono}>
        {file.owner ?? file.uid}:{file.group ?? file.gid}
      </td>
      <td className={styles.mono}>
        {modeString(file.mode, file.type)} {modeOctal(file.mode)}
      </td>
      <td className={styles.mono}>{dateTime(file.modifiedAt)}</td>
      <td>
        <div className={styles.actions}>
          {file.type === 'file' && (
            <a className={`${uiStyles.button} ${uiStyles.small}`} href={downloadHref(deviceId, file.path)} download={file.name}>
              Download
            </a>
          )}
          <Button size="small" onClick={() => onAction({ kind: 'rename', entry: file })}>
            Rename
          </Button>
          <Button size="small" onClick={() => onAction({ kind: 'chmod', entry: file })}>
            Chmod
          </Button>
          <Button size="small" variant="danger" onClick={() => onAction({ kind: 'delete', entry: file })}>
            Delete
          </Button>
        </div>
      </td>
    </tr>
  );
}
