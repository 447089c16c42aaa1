import Link from 'next/link';

export default function NotFound() {
  return (
    <main style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', padding: 24 }}>
      <div style={{ textAlign: 'center', display: 'flex', flexDirection: 'column', gap: 10 }}>
        <h1>Page not found</h1>
        <p style={{ color: 'var(--text-muted)', margin: 0 }}>This address is not a page of the console.</p>
        <Link href="/">Back to the overview</Link>
      </div>
    </main>
  );
}
