'use client';

import {
  IdentityProviderSchema,
  OidcDiscoveryResponseSchema,
  SSO_PRESETS,
  SamlMetadataImportResponseSchema,
  type IdentityProvider,
  type SsoPreset,
  type SsoProtocol,
} from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { useCritical } from '../../../../components/step-up';
import { Button, Card, Field, KeyValues, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import styles from './identity-providers.module.css';
import {
  ENTRA_ISSUER,
  emptyProviderForm,
  newProviderBody,
  providerFormOf,
  providerUpdateBody,
  withPreset,
  type ProviderForm,
} from './provider-form';
import { RoleRulesEditor } from './role-rules';

export const PRESET_LABELS: Record<SsoPreset, string> = { entra: 'Microsoft Entra ID', google: 'Google Workspace', generic: 'Generic' };

export type Editing = { mode: 'new'; protocol: SsoProtocol } | { mode: 'edit'; provider: IdentityProvider };

/** Adds or edits one identity provider; saving is a critical action (step-up). */
export function ProviderEditor({
  editing,
  onSaved,
  onCancel,
}: {
  editing: Editing;
  onSaved: (p: IdentityProvider, created: boolean) => void;
  onCancel: () => void;
}) {
  const critical = useCritical();
  const existing = editing.mode === 'edit' ? editing.provider : null;
  const [form, setForm] = useState<ProviderForm>(() =>
    existing ? providerFormOf(existing) : emptyProviderForm(editing.mode === 'new' ? editing.protocol : 'oidc'),
  );
  const [errors, setErrors] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (changes: Partial<ProviderForm>) => setForm((f) => ({ ...f, ...changes }));
  const saml = form.protocol === 'saml';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const checked = existing ? providerUpdateBody(form) : newProviderBody(form);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors([]);
    setBusy(true);
    try {
      const saved = await critical(() =>
        existing
          ? api(`identity-providers/${existing.id}`, { method: 'PATCH', body: checked.body, schema: IdentityProviderSchema })
          : api('identity-providers', { method: 'POST', body: checked.body, schema: IdentityProviderSchema }),
      );
      // The secret typed here does not stay in the page once the API has it.
      setForm((f) => ({ ...f, oidc: { ...f.oidc, clientSecret: '' } }));
      onSaved(saved, !existing);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={existing ? `Edit “${existing.name}”` : saml ? 'New SAML 2.0 provider' : 'New OpenID Connect provider'}>
      <form className={styles.form} onSubmit={submit} noValidate data-testid="provider-editor">
        <div className={styles.formGrid}>
          <Field label="Name">
            <input value={form.name} maxLength={120} onChange={(e) => set({ name: e.target.value })} />
          </Field>
          <Field label="Preset">
            <select
              value={form.preset}
              onChange={(e) =>
                setForm((f) => (existing ? { ...f, preset: e.target.value as SsoPreset } : withPreset(f, e.target.value as SsoPreset)))
              }
            >
              {SSO_PRESETS.map((p) => (
                <option key={p} value={p}>
                  {PRESET_LABELS[p]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Allowed e-mail domains" hint="separated by commas; other accounts are refused">
            <input value={form.domains} placeholder="example.com" spellCheck={false} onChange={(e) => set({ domains: e.target.value })} />
          </Field>
          <Field label="Session lifetime (hours)" hint="an SSO session ends after this, active or not">
            <input
              type="number"
              min={0.25}
              max={168}
              step="any"
              value={form.sessionHours}
              onChange={(e) => set({ sessionHours: e.target.value })}
            />
          </Field>
        </div>
        {saml ? <SamlFields form={form} setForm={setForm} /> : <OidcFields form={form} setForm={setForm} existing={existing} />}
        {!existing && (
          <fieldset className={styles.fieldset}>
            <legend className={styles.legend}>Group → role rules (first match wins)</legend>
            <RoleRulesEditor rules={form.roleRules} onChange={(roleRules) => set({ roleRules })} />
          </fieldset>
        )}
        <label className={styles.inline}>
          <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
          Enabled (shown on the sign-in page)
        </label>
        {errors.length > 0 && (
          <ul className={uiStyles.fieldError} data-testid="provider-errors">
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        )}
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : existing ? 'Save provider' : 'Add provider'}
          </Button>
        </div>
      </form>
    </Card>
  );
}

type FormSetter = (update: (f: ProviderForm) => ProviderForm) => void;

function SamlFields({ form, setForm }: { form: ProviderForm; setForm: FormSetter }) {
  const [metadataXml, setMetadataXml] = useState('');
  const [importError, setImportError] = useState<unknown>(null);
  const [importing, setImporting] = useState(false);
  const [imported, setImported] = useState(false);
  const s = form.saml;
  const set = (changes: Partial<ProviderForm['saml']>) => setForm((f) => ({ ...f, saml: { ...f.saml, ...changes } }));

  async function importMetadata(from: 'url' | 'xml') {
    setImporting(true);
    setImportError(null);
    setImported(false);
    try {
      const body = from === 'url' ? { metadataUrl: s.metadataUrl.trim() } : { metadataXml };
      const r = await api('identity-providers/saml-metadata', { method: 'POST', body, schema: SamlMetadataImportResponseSchema });
      set({ idpEntityId: r.idpEntityId, ssoUrl: r.ssoUrl, certificates: r.idpCertificates.join('\n\n'), metadataUrl: r.metadataUrl ?? '' });
      setImported(true);
    } catch (e) {
      setImportError(e);
    } finally {
      setImporting(false);
    }
  }

  return (
    <>
      <fieldset className={styles.fieldset}>
        <legend className={styles.legend}>Identity provider metadata</legend>
        <div className={styles.importRow}>
          <Field label="Metadata URL">
            <input type="url" value={s.metadataUrl} spellCheck={false} onChange={(e) => set({ metadataUrl: e.target.value })} />
          </Field>
          <Button onClick={() => void importMetadata('url')} disabled={importing || s.metadataUrl.trim() === ''}>
            Import from URL
          </Button>
        </div>
        <div className={styles.importRow}>
          <Field label="…or the metadata XML">
            <textarea rows={3} value={metadataXml} spellCheck={false} onChange={(e) => setMetadataXml(e.target.value)} />
          </Field>
          <Button onClick={() => void importMetadata('xml')} disabled={importing || metadataXml.trim() === ''}>
            Import XML
          </Button>
        </div>
        {imported && (
          <div className={styles.notice} role="status" data-testid="metadata-imported">
            Imported: entity id, sign-in URL and certificates filled in below.
          </div>
        )}
        {importError ? <ProblemView error={importError} /> : null}
        <div className={styles.formGrid}>
          <Field label="IdP entity id">
            <input value={s.idpEntityId} spellCheck={false} onChange={(e) => set({ idpEntityId: e.target.value })} />
          </Field>
          <Field label="Single sign-on URL" hint="HTTP-Redirect binding">
            <input type="url" value={s.ssoUrl} spellCheck={false} onChange={(e) => set({ ssoUrl: e.target.value })} />
          </Field>
        </div>
        <Field label="Signing certificates" hint="PEM; paste two during a certificate rollover">
          <textarea
            rows={4}
            className="mono"
            value={s.certificates}
            spellCheck={false}
            onChange={(e) => set({ certificates: e.target.value })}
          />
        </Field>
      </fieldset>
      <fieldset className={styles.fieldset}>
        <legend className={styles.legend}>Attributes</legend>
        <div className={styles.formGrid}>
          <Field label="Groups attribute">
            <input value={s.groupsAttribute} spellCheck={false} onChange={(e) => set({ groupsAttribute: e.target.value })} />
          </Field>
          <Field label="E-mail attribute" hint="empty: the NameID is the e-mail">
            <input value={s.emailAttribute} spellCheck={false} onChange={(e) => set({ emailAttribute: e.target.value })} />
          </Field>
          <Field label="Display name attribute" hint="optional">
            <input value={s.displayNameAttribute} spellCheck={false} onChange={(e) => set({ displayNameAttribute: e.target.value })} />
          </Field>
          <Field label="MFA AuthnContextClassRef values" hint="proof of multi-factor sign-in at step-up; separated by commas">
            <input value={s.mfaAuthnContexts} spellCheck={false} onChange={(e) => set({ mfaAuthnContexts: e.target.value })} />
          </Field>
        </div>
        <label className={styles.inline}>
          <input type="checkbox" checked={s.signAuthnRequests} onChange={(e) => set({ signAuthnRequests: e.target.checked })} />
          Sign authentication requests
        </label>
        <label className={styles.inline}>
          <input type="checkbox" checked={s.encryptAssertions} onChange={(e) => set({ encryptAssertions: e.target.checked })} />
          Offer an encryption key in the SP metadata (encrypted assertions are accepted either way)
        </label>
      </fieldset>
    </>
  );
}

function OidcFields({ form, setForm, existing }: { form: ProviderForm; setForm: FormSetter; existing: IdentityProvider | null }) {
  const [discovery, setDiscovery] = useState<unknown>(null);
  const [discovering, setDiscovering] = useState(false);
  const o = form.oidc;
  const set = (changes: Partial<ProviderForm['oidc']>) => setForm((f) => ({ ...f, oidc: { ...f.oidc, ...changes } }));

  async function discover() {
    setDiscovering(true);
    setDiscovery(null);
    try {
      setDiscovery(
        await api('identity-providers/oidc-discovery', {
          method: 'POST',
          body: { issuer: o.issuer.trim() },
          schema: OidcDiscoveryResponseSchema,
        }),
      );
    } catch (e) {
      setDiscovery({ error: e });
    } finally {
      setDiscovering(false);
    }
  }

  const found = OidcDiscoveryResponseSchema.safeParse(discovery);
  return (
    <fieldset className={styles.fieldset}>
      <legend className={styles.legend}>OpenID Connect</legend>
      {form.preset === 'entra' && (
        <Field label="Tenant id" hint="only this tenant's accounts (the token's tid)">
          <input
            value={o.tenantId}
            spellCheck={false}
            onChange={(e) => set({ tenantId: e.target.value, issuer: ENTRA_ISSUER(e.target.value.trim()) })}
          />
        </Field>
      )}
      {form.preset === 'google' && (
        <Field label="Hosted domain" hint="only this Google Workspace domain (the token's hd)">
          <input
            value={o.hostedDomain}
            spellCheck={false}
            placeholder="example.com"
            onChange={(e) => set({ hostedDomain: e.target.value })}
          />
        </Field>
      )}
      <div className={styles.importRow}>
        <Field label="Issuer URL">
          <input type="url" value={o.issuer} spellCheck={false} onChange={(e) => set({ issuer: e.target.value })} />
        </Field>
        <Button onClick={() => void discover()} disabled={discovering || o.issuer.trim() === ''}>
          {discovering ? 'Discovering…' : 'Discover'}
        </Button>
      </div>
      {found.success ? (
        <div className={styles.notice} role="status" data-testid="oidc-discovery">
          <KeyValues
            rows={[
              ['Issuer', found.data.issuer],
              ['Authorization', found.data.authorizationEndpoint],
              ['Token', found.data.tokenEndpoint],
              ['Keys', found.data.jwksUri],
              ['PKCE', found.data.codeChallengeMethods.join(', ') || 'not announced'],
            ]}
          />
        </div>
      ) : discovery && typeof discovery === 'object' && 'error' in discovery ? (
        <ProblemView error={discovery.error} />
      ) : null}
      <div className={styles.formGrid}>
        <Field label="Client id">
          <input value={o.clientId} spellCheck={false} onChange={(e) => set({ clientId: e.target.value })} />
        </Field>
        <Field
          label={existing?.hasClientSecret ? 'Client secret (set; leave empty to keep)' : 'Client secret'}
          hint={
            existing?.hasClientSecret
              ? 'the stored one is never shown'
              : 'stored sealed, never shown again; empty: a public client (PKCE only)'
          }
        >
          <input
            type="password"
            autoComplete="new-password"
            value={o.clientSecret}
            disabled={o.removeSecret}
            spellCheck={false}
            onChange={(e) => set({ clientSecret: e.target.value })}
            data-testid="client-secret"
          />
        </Field>
        <Field label="Scopes" hint="separated by spaces">
          <input value={o.scopes} spellCheck={false} onChange={(e) => set({ scopes: e.target.value })} />
        </Field>
        <Field label="Groups claim">
          <input value={o.groupsClaim} spellCheck={false} onChange={(e) => set({ groupsClaim: e.target.value })} />
        </Field>
        <Field label="MFA amr values" hint="separated by commas">
          <input value={o.mfaAmrValues} spellCheck={false} onChange={(e) => set({ mfaAmrValues: e.target.value })} />
        </Field>
        <Field label="MFA acr values" hint="optional; separated by commas">
          <input value={o.mfaAcrValues} spellCheck={false} onChange={(e) => set({ mfaAcrValues: e.target.value })} />
        </Field>
      </div>
      {existing?.hasClientSecret && (
        <label className={styles.inline}>
          <input type="checkbox" checked={o.removeSecret} onChange={(e) => set({ removeSecret: e.target.checked, clientSecret: '' })} />
          Remove the stored secret (a public client)
        </label>
      )}
    </fieldset>
  );
}
