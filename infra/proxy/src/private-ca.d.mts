/** Types of private-ca.mjs for TypeScript callers (tests). */
export interface PrivateCaResult {
  files: { caKey: string; caCert: string; serverKey: string; serverCert: string };
  created: string[];
  pin: string;
  caFingerprintSha256: string;
  names: string[];
}
export function spkiPin(keyOrCertPem: string): string;
export function generatePrivateCa(options: {
  dir: string;
  names: string[];
  caDays?: number;
  serverDays?: number;
}): Promise<PrivateCaResult>;
