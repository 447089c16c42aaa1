'use client';

import { IdentityProviderSchema, SsoConnectionTestSchema, type IdentityProvider, type RoleRule } from '@xspectre/contracts';
import { useState } from 'react';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, CopyRow, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import styles from './identity-providers.module.css';
import { RolePreview, RoleRulesEditor } from './role-rules';

type TestResult = { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> } | { error: unknown };

/** One provider: what to register at the IdP, a connection test, and its group → role rules with a preview. */
export function ProviderDetails({ provider, onSaved }: { provider: IdentityProvider; onSaved: (p: IdentityProvider) => void }) {
  const critical = useCritical();
  const [rules, setRules] = useState<RoleRule[]>(provider.roleRules);
  const [rulesError, setRulesError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [test, setTest] = useState<TestResult | null>(null);
  const [testing, setTesting] = useState(false);
  const unsaved = JSON.stringify(rules) !== JSON.stringify(provider.roleRules);
  const sp = provider.serviceProvider;

  async function saveRules() {
    setSaving(true);
    setRulesError(null);
    try {
      const saved = await critical(() =>
        api(`identity-providers/${provider.id}`, { method: 'PATCH', body: { roleRules: rules }, schema: IdentityProviderSchema }),
      );
      onSaved(saved);
    } catch (e) {
      setRulesError(e);
    } finally {
      setSaving(false);
    }
  }

  async function testConnection() {
    setTesting(true);
    setTest(null);
    try {
      setTest(await api(`identity-providers/${provider.id}/test`, { method: 'POST', schema: SsoConnectionTestSchema }));
    } catch (e) {
      setTest({ error: e });
    } finally {
      setTesting(false);
    }
  }

  return (
    <div className={styles.details} data-testid="provider-details">
      <Card
        title={`Register at the identity provider: ${provider.name}`}
        actions={
          <Button onClick={() => void testConnection()} disabled={testing}>
            {testing ? 'Testing…' : 'Test connection'}
          </Button>
        }
      >
        <div className={styles.spValues} data-testid="sp-values">
          {provider.protocol === 'saml' ? (
            <>
              <SpValue label="Entity id (audience)" text={sp.entityId} />
              <SpValue label="Assertion Consumer Service URL (HTTP-POST)" text={sp.acsUrl} />
              <SpValue label="SP metadata URL" text={sp.metadataUrl} />
            </>
          ) : (
            <SpValue label="Redirect URI" text={sp.redirectUri} />
          )}
        </div>
        {test && <ConnectionTest result={test} />}
      </Card>
      <Card
        title="Group → role rules"
        actions={
          <Button variant="primary" onClick={() => void saveRules()} disabled={!unsaved || saving}>
            {saving ? 'Saving…' : 'Save rules'}
          </Button>
        }
      >
        <p className={uiStyles.muted} style={{ marginTop: 0 }}>
          Checked from the top at every sign-in: the first rule whose group the user has gives the role. No match: no access (not
          Read-Only).
        </p>
        <RoleRulesEditor rules={rules} onChange={setRules} disabled={saving} />
        {rulesError ? <ProblemView error={rulesError} /> : null}
        <RolePreview providerId={provider.id} unsaved={unsaved} />
      </Card>
    </div>
  );
}

function SpValue({ label, text }: { label: string; text: string }) {
  return (
    <div className={styles.spValue}>
      <span className={uiStyles.muted}>{label}</span>
      <CopyRow text={text} label={label} />
    </div>
  );
}

function ConnectionTest({ result }: { result: TestResult }) {
  if ('error' in result) return <ProblemView error={result.error} />;
  return (
    <div className={`${styles.result} ${result.ok ? styles.resultOk : styles.resultBad}`} role="status" data-testid="connection-test">
      <strong>{result.ok ? 'The provider answers as configured' : 'Something is not right'}</strong>
      <ul className={styles.checks}>
        {result.checks.map((c) => (
          <li key={c.name}>
            {c.ok ? <Badge tone="ok">ok</Badge> : <Badge tone="bad">failed</Badge>} <strong>{c.name}</strong>{' '}
            <span className={uiStyles.muted}>{c.detail}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
