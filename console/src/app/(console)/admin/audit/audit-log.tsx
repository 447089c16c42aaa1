'use client';

import { AuditPageSchema, AuditVerifyResponseSchema, type AuditEvent } from '@xspectre/contracts';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { Badge, Button, Card, Empty, Field, Forbidden, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import { API_BASE, api, withQuery } from '../../../../lib/api-client';
import { dateTime } from '../../../../lib/format';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { useUrlState } from '../../../../lib/use-url-state';

const PAGE_SIZE = 50;
const FILTERS = ['action', 'resourceType', 'resourceId', 'userId', 'result', 'from', 'to'] as const;

/** datetime-local values are local time without a zone; the API wants ISO with an offset. */
function toIso(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The worker verifies the chain every few minutes (only new entries) and daily in full; this shows its latest result. */
function ChainStatus() {
  const verify = useResource('audit-verify', (signal) => api('audit/verify', { schema: AuditVerifyResponseSchema, signal }));
  return (
    <span data-testid="chain-status" style={{ display: 'inline-flex', gap: 8, alignItems: 'center' }}>
      {verify.error ? (
        <Badge tone="bad">verification status unavailable</Badge>
      ) : !verify.data ? (
        <Badge tone="neutral">reading the chain verification…</Badge>
      ) : !verify.data.verifiedAt ? (
        <Badge tone="neutral">not verified yet · the worker verifies every few minutes</Badge>
      ) : verify.data.intact ? (
        <Badge
          tone="ok"
          title={`${verify.data.full ? 'full' : 'incremental'} run checked ${verify.data.checked} entries; newest entry now #${verify.data.headId ?? '—'}`}
        >
          chain intact through entry {verify.data.verifiedThroughId} · verified {dateTime(verify.data.verifiedAt)}
        </Badge>
      ) : (
        <Badge tone="bad" title={verify.data.reason ?? undefined}>
          chain BROKEN at entry {verify.data.firstBrokenId}: {verify.data.reason}
        </Badge>
      )}
      <Button size="small" onClick={verify.reload} disabled={verify.loading}>
        Refresh
      </Button>
    </span>
  );
}

export function AuditLog() {
  const { can } = useSession();
  const [params, setParams] = useUrlState();
  const fromUrl = () => Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [draft, setDraft] = useState(fromUrl);
  // A link (a resource id, back/forward) changes the filters: the form follows the URL.
  const urlFilters = FILTERS.map((k) => params.get(k) ?? '').join('\u0000');
  useEffect(() => {
    setDraft(fromUrl());
    // fromUrl reads the same params urlFilters was built from.
  }, [urlFilters]);
  const offset = Number(params.get('offset') ?? 0) || 0;
  // Older pages by cursor (entries below an id): stable while new entries arrive, and as fast deep in the log as at its top.
  const cursor = params.get('cursor') ?? undefined;
  // The cursors of the pages before this one, for "Newer" (a linked cursor page has none: "Newest" instead).
  const [trail, setTrail] = useState<string[]>([]);
  const query = {
    action: params.get('action') ?? undefined,
    resourceType: params.get('resourceType') ?? undefined,
    resourceId: params.get('resourceId') ?? undefined,
    userId: params.get('userId') ?? undefined,
    result: params.get('result') ?? undefined,
    from: toIso(params.get('from') ?? undefined),
    to: toIso(params.get('to') ?? undefined),
  };
  const allowed = can('audit.view');
  const audit = useResource(allowed ? JSON.stringify({ query, offset, cursor }) : null, (signal) =>
    api('audit', { query: { ...query, limit: PAGE_SIZE, offset, cursor }, schema: AuditPageSchema, signal }),
  );
  const goTo = (next: string | null) => setParams({ cursor: next, offset: null }, false);
  const [open, setOpen] = useState<string | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="Audit log" />
        <Forbidden permission="audit.view" what="read the audit log" />
      </>
    );
  }

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change and sign-in, hash-chained so tampering shows."
        actions={
          <>
            <ChainStatus />
            <a className={`${uiStyles.button}`} href={API_BASE + withQuery('audit/export', query)} download="audit.csv">
              Export CSV
            </a>
          </>
        }
      />
      <Card>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setTrail([]);
            setParams({ ...Object.fromEntries(FILTERS.map((k) => [k, draft[k] || null])), cursor: null });
          }}
          style={{
            display: 'grid',
            gridTemplateColumns: 'repeat(auto-fit, minmax(150px, 1fr))',
            gap: 10,
            alignItems: 'end',
            marginBottom: 14,
          }}
        >
          <Field label="Action">
            <input
              value={draft.action}
              onChange={(e) => setDraft({ ...draft, action: e.target.value })}
              placeholder="e.g. device.revoke"
              maxLength={100}
            />
          </Field>
          <Field label="Resource type">
            <input
              value={draft.resourceType}
              onChange={(e) => setDraft({ ...draft, resourceType: e.target.value })}
              placeholder="e.g. device"
              maxLength={100}
            />
          </Field>
          <Field label="Resource id">
            <input value={draft.resourceId} onChange={(e) => setDraft({ ...draft, resourceId: e.target.value })} maxLength={200} />
          </Field>
          <Field label="User id">
            <input value={draft.userId} onChange={(e) => setDraft({ ...draft, userId: e.target.value })} maxLength={36} />
          </Field>
          <Field label="Result">
            <select value={draft.result} onChange={(e) => setDraft({ ...draft, result: e.target.value })}>
              <option value="">All</option>
              <option value="success">success</option>
              <option value="failure">failure</option>
            </select>
          </Field>
          <Field label="From">
            <input type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
          </Field>
          <Field label="To">
            <input type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
          </Field>
          <div style={{ display: 'flex', gap: 8 }}>
            <Button type="submit" variant="primary">
              Apply
            </Button>
            <Button
              onClick={() => {
                setDraft(Object.fromEntries(FILTERS.map((k) => [k, ''])) as typeof draft);
                setTrail([]);
                setParams({ ...Object.fromEntries(FILTERS.map((k) => [k, null])), cursor: null });
              }}
            >
              Clear
            </Button>
          </div>
        </form>
        {audit.error ? (
          <ProblemView error={audit.error} onRetry={audit.reload} />
        ) : !audit.data ? (
          <Loading label="Loading the audit log…" />
        ) : audit.data.items.length === 0 ? (
          <Empty>No audit entry matches.</Empty>
        ) : (
          <>
            <table className={uiStyles.table} data-testid="audit-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>When</th>
                  <th>Who</th>
                  <th>Action</th>
                  <th>Resource</th>
                  <th>Result</th>
                  <th>Source</th>
                </tr>
              </thead>
              <tbody>
                {audit.data.items.map((a) => (
                  <AuditRow key={a.id} event={a} open={open === a.id} onToggle={() => setOpen(open === a.id ? null : a.id)} />
                ))}
              </tbody>
            </table>
            <nav className={uiStyles.pager} aria-label="Pages">
              <span data-testid="audit-count">
                entries #{audit.data.items[0]!.id}–#{audit.data.items[audit.data.items.length - 1]!.id} ·{' '}
                {audit.data.totalCapped ? `${(audit.data.total - 1).toLocaleString('en')}+` : audit.data.total.toLocaleString('en')}{' '}
                {Object.values(query).some(Boolean) ? 'matching' : 'in the log'}
              </span>
              <div>
                {trail.length > 0 ? (
                  <Button
                    size="small"
                    onClick={() => {
                      goTo(trail[trail.length - 1] || null);
                      setTrail(trail.slice(0, -1));
                    }}
                  >
                    ← Newer
                  </Button>
                ) : (
                  <Button size="small" onClick={() => goTo(null)} disabled={!cursor && offset === 0}>
                    ← Newest
                  </Button>
                )}
                <Button
                  size="small"
                  onClick={() => {
                    setTrail([...trail, cursor ?? '']);
                    goTo(audit.data!.nextCursor ?? null);
                  }}
                  disabled={!audit.data.nextCursor}
                >
                  Older →
                </Button>
              </div>
            </nav>
          </>
        )}
      </Card>
    </>
  );
}

function AuditRow({ event: a, open, onToggle }: { event: AuditEvent; open: boolean; onToggle: () => void }) {
  return (
    <>
      <tr>
        <td className={uiStyles.faint} style={{ whiteSpace: 'nowrap' }}>
          <button className={uiStyles.sortButton} onClick={onToggle} aria-expanded={open} aria-label={`Details of entry ${a.id}`}>
            {open ? '▾' : '▸'} {a.id}
          </button>
        </td>
        <td style={{ whiteSpace: 'nowrap' }}>{dateTime(a.timestamp)}</td>
        <td>{a.userEmail ?? <span className={uiStyles.faint}>system</span>}</td>
        <td className="mono">{a.action}</td>
        <td style={{ whiteSpace: 'nowrap' }}>
          {a.resourceType}
          {a.resourceId && (
            <>
              {' · '}
              {/* Short id on the row (the full one in the tooltip and the details); a click shows its whole history. */}
              <Link href={`/admin/audit?resourceId=${encodeURIComponent(a.resourceId)}`} className="mono" title={a.resourceId}>
                {a.resourceId.slice(0, 8)}
              </Link>
            </>
          )}
        </td>
        <td>
          <Badge tone={a.result === 'success' ? 'ok' : 'bad'}>{a.result}</Badge>
          {a.errorMessage && <div className={uiStyles.faint}>{a.errorMessage}</div>}
        </td>
        <td className="mono">{a.sourceIp ?? '—'}</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={7}>
            <pre className="mono" style={{ margin: 0, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
              {JSON.stringify({ details: a.details, requestId: a.requestId, hash: a.hash }, null, 2)}
            </pre>
          </td>
        </tr>
      )}
    </>
  );
}
