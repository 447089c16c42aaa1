import { X509Certificate } from 'node:crypto';

/**
 * An IdP certificate as an administrator pastes it or metadata carries it: PEM, or the bare
 * base64 DER of an X509Certificate element. Null when it is not an X.509 certificate.
 */
export function parseIdpCertificate(text: string): X509Certificate | null {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN CERTIFICATE-----')) return new X509Certificate(trimmed);
    const compact = trimmed.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return null;
    return new X509Certificate(Buffer.from(compact, 'base64'));
  } catch {
    return null;
  }
}

/** The certificate as PEM (what is stored: one spelling, whatever was pasted). */
export function certificatePem(certificate: X509Certificate): string {
  return certificate.toString().trim();
}

/** Whether the certificate has expired at `now`, and the whole days until (or since) then. */
export function certificateExpiry(certificate: X509Certificate, now: Date): { expired: boolean; days: number } {
  const ms = new Date(certificate.validTo).getTime() - now.getTime();
  return { expired: ms < 0, days: Math.floor(Math.abs(ms) / 86_400_000) };
}
