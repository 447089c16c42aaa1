import type { EngineRule } from './rule-book.js';

/** Seconds as the largest whole unit an operator reads at a glance (90 s → "1 min", 7200 s → "2 h"). */
export function humanDuration(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** The alert's one-line title: what breached and by how much (the device is shown beside it). */
export function alertTitle(rule: EngineRule, subject: string, details: Record<string, unknown>): string {
  const d = details;
  switch (rule.kind) {
    case 'metric': {
      const unit = String(d.metric).startsWith('load') ? '' : ' %';
      const where = subject ? ` on ${subject}` : '';
      return `${rule.name}${where}: ${String(d.metric)} ${String(d.value)}${unit} (threshold ${String(d.threshold)}${unit})`;
    }
    case 'unit':
      return `${rule.name}: ${subject} is ${String(d.activeState)} (${String(d.subState)})`;
    case 'container':
      return `${rule.name}: ${subject} is ${String(d.state)}${d.health ? `, ${String(d.health)}` : ''}`;
    case 'offline':
      return `${rule.name}: no heartbeat for ${humanDuration(Number(d.silentSeconds))}`;
    case 'tunnel':
      return d.lastHandshakeAt
        ? `${rule.name}: last handshake ${humanDuration(Number(d.staleSeconds))} ago`
        : `${rule.name}: no handshake yet`;
    case 'event':
      return rule.name;
    case 'agent_outdated':
      return `${rule.name}: runs ${String(d.agentVersion)}, the server serves ${String(d.servedVersion)}`;
    case 'fleet_offline':
      return `${rule.name}: ${String(d.offline)} of ${String(d.total)} devices offline (${String(d.sharePercent)} %)`;
    case 'backup_pool':
      return `${rule.name}: ${String(d.server)} at ${String(d.usedPercent)} % (threshold ${String(d.threshold)} %)`;
    case 'backup_scrub':
      return `${rule.name}: the last scrub of ${String(d.server)} found ${String(d.errors)} errors`;
    case 'scanner':
      // The scanner checks' own sentence (api/src/scanners/scanner-checks.ts puts it in details.summary).
      return typeof d.summary === 'string' && d.summary ? `${rule.name}: ${d.summary}` : rule.name;
  }
}
