'use client';

import type { Problem } from '@xspectre/contracts';
import { useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type FormEvent, type ReactNode, type Ref } from 'react';
import { problemOf } from '../lib/api-client';
import styles from './ui.module.css';

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: 'primary' | 'danger' | 'default';
  size?: 'small' | 'normal';
  ref?: Ref<HTMLButtonElement>;
};

export function Button({ variant = 'default', size = 'normal', className, type = 'button', ...rest }: ButtonProps) {
  const classes = [styles.button, variant !== 'default' && styles[variant], size === 'small' && styles.small, className].filter(Boolean);
  return <button type={type} className={classes.join(' ')} {...rest} />;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info';

export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`${styles.badge} ${styles[tone]}`} title={title}>
      {children}
    </span>
  );
}

export function Card({
  title,
  actions,
  children,
  className,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`${styles.card} ${className ?? ''}`}>
      {(title || actions) && (
        <div className={styles.cardHeader}>
          {typeof title === 'string' ? <h2>{title}</h2> : title}
          {actions}
        </div>
      )}
      <div className={styles.cardBody}>{children}</div>
    </section>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className={styles.state} role="status" aria-live="polite">
      <span className={styles.spinner} aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className={styles.state}>{children}</div>;
}

/** An API problem as the operator should read it: what went wrong (detail) and the code to search for. */
export function ProblemView({
  error,
  problem,
  onRetry,
  action,
}: {
  error?: unknown;
  problem?: Problem;
  onRetry?: () => void;
  action?: ReactNode;
}) {
  const p = problem ?? problemOf(error);
  const forbidden = p.code === 'AUTH_FORBIDDEN' || p.code === 'AUTH_INTERNAL_READ_ONLY';
  return (
    <div className={`${styles.problem} ${forbidden ? styles.forbidden : ''}`} role="alert" data-testid="problem">
      <strong>{forbidden ? 'Not allowed for your role' : p.title}</strong>
      <div>{p.detail}</div>
      {p.errors && p.errors.length > 0 && (
        <ul>
          {p.errors.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      <div className={styles.problemCode}>
        code <code>{p.code}</code>
        {p.status ? ` · HTTP ${p.status}` : ''}
        {p.requestId ? ` · request ${p.requestId}` : ''}
        {onRetry && (
          <>
            {' · '}
            <Button size="small" onClick={onRetry}>
              Retry
            </Button>
          </>
        )}
      </div>
      {action && <div style={{ marginTop: 8 }}>{action}</div>}
    </div>
  );
}

/** Shown instead of a page the role may not open (the API would refuse it anyway). */
export function Forbidden({ permission, what }: { permission: string; what: string }) {
  return (
    <ProblemView
      problem={{
        type: 'about:blank',
        title: 'Not allowed',
        status: 403,
        detail: `Your role cannot ${what}: it needs the ${permission} permission. Ask a Super Admin if you need it.`,
        code: 'AUTH_FORBIDDEN',
      }}
    />
  );
}

export function Field({ label, error, children, hint }: { label: string; error?: string | null; children: ReactNode; hint?: ReactNode }) {
  return (
    <label className={styles.field}>
      <span>{label}</span>
      {children}
      {hint && <small className={styles.faint}>{hint}</small>}
      {error && <span className={styles.fieldError}>{error}</span>}
    </label>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <Button
      onClick={() => {
        // The clipboard API exists only in secure contexts (https, localhost); else the text stays selectable.
        if (!navigator.clipboard) {
          setState('failed');
          return;
        }
        navigator.clipboard.writeText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        );
      }}
      aria-live="polite"
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : label}
    </Button>
  );
}

export function CopyRow({ text, label }: { text: string; label: string }) {
  return (
    <div className={styles.copyRow}>
      <code aria-label={label} tabIndex={0}>
        {text}
      </code>
      <CopyButton text={text} />
    </div>
  );
}

/** A confirmation dialog (native <dialog>: focus trap and Escape for free). */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useModalDialog(open);
  const titleId = useId();
  return (
    <dialog ref={ref} onCancel={onCancel} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <div>{children}</div>
      <div className={styles.dialogActions}>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button variant={danger ? 'danger' : 'primary'} onClick={onConfirm} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </Button>
      </div>
    </dialog>
  );
}

/** A small form in a dialog (rename, edit): the fields are the children; the API's problem shows inside. */
export function FormDialog({
  open,
  title,
  children,
  submitLabel,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  submitLabel: string;
  busy?: boolean;
  error?: unknown;
  onSubmit: () => void;
  onCancel: () => void;
}) {
  const ref = useModalDialog(open);
  const titleId = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit();
  }
  return (
    <dialog ref={ref} onCancel={onCancel} aria-labelledby={titleId}>
      <form onSubmit={submit} className={styles.dialogForm}>
        <h2 id={titleId}>{title}</h2>
        {children}
        {error ? <ProblemView error={error} /> : null}
        <div className={styles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : submitLabel}
          </Button>
        </div>
      </form>
    </dialog>
  );
}

export function Pager({
  total,
  limit,
  offset,
  onOffset,
}: {
  total: number;
  limit: number;
  offset: number;
  onOffset: (offset: number) => void;
}) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <nav className={styles.pager} aria-label="Pages">
      <span>
        {from}–{to} of {total}
      </span>
      <div>
        <Button size="small" onClick={() => onOffset(Math.max(0, offset - limit))} disabled={offset === 0}>
          ← Previous
        </Button>
        <Button size="small" onClick={() => onOffset(offset + limit)} disabled={offset + limit >= total}>
          Next →
        </Button>
      </div>
    </nav>
  );
}

/** "20 of 57" and a button for the next older page of a newest-first list. */
export function ShowMore({
  shown,
  total,
  pageSize,
  busy,
  onMore,
  what,
}: {
  shown: number;
  total: number;
  pageSize: number;
  busy?: boolean;
  onMore: () => void;
  what: string;
}) {
  const next = Math.max(0, Math.min(pageSize, total - shown));
  // A list that fits on one page needs no count under it.
  if (shown >= total && total <= pageSize) return null;
  return (
    <nav className={styles.pager} aria-label={`More ${what}`}>
      <span data-testid="shown-count">{shown >= total ? `all ${total} ${what}` : `${shown} of ${total} ${what}`}</span>
      {next > 0 && (
        <Button size="small" onClick={onMore} disabled={busy}>
          {busy ? 'Loading…' : `Show ${next} more`}
        </Button>
      )}
    </nav>
  );
}

export function KeyValues({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <dl className={styles.kv}>
      {rows.map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export const uiStyles = styles;

/** A native `<dialog>` shown modally while `open` (focus trap, Escape and backdrop from the browser). */
export function useModalDialog(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return ref;
}
