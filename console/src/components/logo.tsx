export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect x="1" y="1" width="30" height="30" rx="7" fill="var(--accent)" />
      <path d="M9 9l14 14M23 9L9 23" stroke="var(--accent-contrast)" strokeWidth="3.2" strokeLinecap="round" />
      <circle cx="16" cy="16" r="3" fill="var(--accent)" stroke="var(--accent-contrast)" strokeWidth="2" />
    </svg>
  );
}
