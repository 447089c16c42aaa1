/** Where to go after signing in: only a path on this console (never `//host` or a scheme), else the overview. */
export function safeNext(value: string | null | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (value.startsWith('/sign-in')) return '/';
  return value;
}

export function signInUrl(currentPath: string, expired: boolean): string {
  const params = new URLSearchParams({ next: safeNext(currentPath) });
  if (expired) params.set('expired', '1');
  return `/sign-in?${params.toString()}`;
}
