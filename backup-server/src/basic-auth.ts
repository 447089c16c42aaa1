/**
 * The device's credentials as restic sends them from its repository URL
 * (`rest:http://<device>:<token>@host:port/<device>/`): HTTP basic auth, user = device id,
 * password = the backup token. Bounded before decoding.
 */
const MAX_HEADER_LENGTH = 4096;

export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || header.length > MAX_HEADER_LENGTH) return undefined;
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  // restic percent-decodes the URL's userinfo before sending it, so the token arrives as is.
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
