/** A word the shell reads as itself, else single-quoted (the URL is the operator's setting, not trusted to be tame). */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_/:.@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The console's one-liner for a claim code. Over https with API_BOOTSTRAP_PIN, curl pins the
 * proxy's key for the script and bootstrap.sh for everything it fetches (--pin); over http (labs,
 * `npm start`) bootstrap.sh refuses unless told --insecure-http, so the line says it
 * (agent/bootstrap.sh, infra/proxy/README.md). The pin is for a private CA the device does not
 * trust: curl's --insecure drops only the CA-chain check, the pinned key stays required.
 */
export function bootstrapCommand(publicUrl: string, code: string, pin?: string): string {
  const api = `${publicUrl.replace(/\/+$/, '')}/api/v1`;
  const https = api.startsWith('https://');
  const pinned = https && pin !== undefined;
  const curl = ['curl', '-fsSL', ...(pinned ? ['--insecure', '--pinnedpubkey', `'${pin}'`] : []), shellWord(`${api}/agent/bootstrap.sh`)];
  const bash = ['sudo', 'bash', '-s', '--', '--claim', shellWord(code), '--api', shellWord(api)];
  if (pinned) bash.push('--pin', `'${pin}'`);
  if (!https) bash.push('--insecure-http');
  return `${curl.join(' ')} | ${bash.join(' ')}`;
}
