import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'xSPECTRE Ops Console', template: '%s · xSPECTRE Ops' },
  description: 'Fleet operations for xSPECTRE scanners and servers',
  referrer: 'no-referrer',
  robots: { index: false, follow: false },
};

/** The theme is a cookie, read here, so the first paint already has it (no inline script needed under the CSP). */
export default async function RootLayout({ children }: { children: ReactNode }) {
  const theme = (await cookies()).get('xs_theme')?.value === 'light' ? 'light' : 'dark';
  return (
    <html lang="en" data-theme={theme}>
      <body>{children}</body>
    </html>
  );
}
