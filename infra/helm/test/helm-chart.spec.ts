import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../api/dist/config/config.js';
import { loadConfig as loadBackupServerConfig } from '../../../backup-server/dist/config.js';
import { KEY_PURPOSES } from '../../../api/dist/keys/key-purpose.js';

/**
 * The Helm chart (infra/helm/xspectre), rendered by infra/helm/check.sh with helm's template
 * engine (not the helm binary: infra/helm/README.md), every object validated against the
 * Kubernetes schemas by kubernetes-models, and the chart's promises checked on what it renders.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const HELM = join(REPO, 'infra/helm');
const CHART = join(HELM, 'xspectre');

type Obj = Record<string, any>;

/** The Kubernetes schema of each kind the chart renders: validate() throws on a violation. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

let out: string;
let render: string;
let renders: Record<'default' | 'ci', Obj[]>;

/** Every variable of a service's environment schema, read from its source (the schema is not exported). */
async function configKeys(file: string): Promise<Set<string>> {
  const source = await readFile(join(REPO, file), 'utf8');
  const start = source.indexOf('const EnvSchema = z');
  const end = source.indexOf('\n  .refine(', start);
  expect(start, `${file} has its EnvSchema`).toBeGreaterThan(0);
  const keys = [...source.slice(start, end).matchAll(/^ {4}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  expect(keys.length).toBeGreaterThan(10);
  return new Set(keys);
}

function find(objects: Obj[], kind: string, component: string): Obj {
  const found = objects.filter((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component);
  expect(found, `one ${kind} for ${component}`).toHaveLength(1);
  return found[0]!;
}

function podSpecs(objects: Obj[]): Array<{ name: string; spec: Obj }> {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => ({ name: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}

function container(deployment: Obj, name: string): Obj {
  const c = (deployment.spec.template.spec.containers as Obj[]).find((x) => x.name === name);
  expect(c, `container ${name}`).toBeDefined();
  return c!;
}

async function renderWith(args: string[]) {
  return execa(render, ['template', CHART, ...args], { reject: false });
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'xs-helm-'));
  const check = await execa('bash', [join(HELM, 'check.sh'), out], { reject: false });
  expect(check.exitCode, `check.sh failed:\n${check.stdout}\n${check.stderr}`).toBe(0);
  render = join(out, 'render');
  renders = {
    default: JSON.parse(await readFile(join(out, 'default.json'), 'utf8')) as Obj[],
    ci: JSON.parse(await readFile(join(out, 'ci.json'), 'utf8')) as Obj[],
  };
});

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe.each(['default', 'ci'] as const)('the chart rendered with the %s values', (which) => {
  it('renders only kinds it knows, each valid against the Kubernetes schema', () => {
    const objects = renders[which];
    expect(objects.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (!Model) {
        problems.push(`${object.apiVersion} ${object.kind} ${object.metadata.name}: no schema in this test`);
        continue;
      }
      try {
        new Model(object).validate();
      } catch (error) {
        problems.push(`${object.kind} ${object.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size, 'no two objects share kind and name').toBe(names.length);
  });

  it('runs the API with at least two replicas, a disruption budget, spread over nodes, and health probes', () => {
    const objects = renders[which];
    const api = find(objects, 'Deployment', 'api');
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    const pdb = find(objects, 'PodDisruptionBudget', 'api');
    expect(pdb.spec.selector.matchLabels).toEqual(api.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    const anti = api.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect(anti.topologyKey).toBe('kubernetes.io/hostname');
    const c = container(api, 'api');
    expect(c.readinessProbe.httpGet.path).toBe('/api/v1/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/api/v1/health');
    // The metrics listener is a port and a Service of its own; the API's Service never exposes it.
    const apiService = objects.find((o) => o.kind === 'Service' && o.metadata.name === api.metadata.name)!;
    expect(apiService.spec.type).toBe('ClusterIP');
    expect((apiService.spec.ports as Obj[]).map((p) => p.targetPort)).toEqual(['http']);
    const metrics = objects.find((o) => o.kind === 'Service' && o.metadata.name === `${api.metadata.name}-metrics`)!;
    expect((metrics.spec.ports as Obj[]).map((p) => p.targetPort)).toEqual(['metrics']);
    // Migrations run as a hook before the new pods.
    const migrate = find(objects, 'Job', 'migrate');
    expect(migrate.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    // No Ingress: the public surface is the Caddy proxy of infra/proxy.
    expect(objects.filter((o) => o.kind === 'Ingress')).toEqual([]);
  });

  it('puts the hub on the chosen node with host networking and NET_ADMIN', () => {
    const hub = find(renders[which], 'Deployment', 'hub');
    const spec = hub.spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.nodeSelector).toEqual({ 'xspectre.io/hub': 'true' });
    expect(hub.spec.replicas).toBe(1);
    expect(hub.spec.strategy.type).toBe('Recreate');
    const c = container(hub, 'hub');
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
    expect(env.API_WG_INTERFACE).toBe('xs-hub0');
    // Host networking: the hub's API listens on the overlay address, not on the node's public one.
    expect(env.API_HOST).toBe('10.10.0.1');
    expect(c.readinessProbe.httpGet.host).toBe('10.10.0.1');
    expect((spec.initContainers as Obj[]).map((i) => i.name)).toEqual(['key-store', 'hub-setup']);
  });

  it('fills the key store of every API process from a Secret, with every key purpose the API has', () => {
    const objects = renders[which];
    const scripts = objects.find((o) => o.kind === 'ConfigMap')!;
    const purposes = /for purpose in ([a-z -]+); do/.exec(scripts.data['key-store.sh'])?.[1]?.split(' ');
    expect(purposes).toEqual([...KEY_PURPOSES]);
    for (const component of ['api', 'hub', 'worker']) {
      const deployment = find(objects, 'Deployment', component);
      const spec = deployment.spec.template.spec;
      const main = (spec.containers as Obj[])[0]!;
      const dir = (main.env as Obj[]).find((e) => e.name === 'API_KEY_STORE_DIR')!.value as string;
      const mount = (main.volumeMounts as Obj[]).find((m) => dir.startsWith(`${m.mountPath}/`))!;
      expect(mount, `${component}: API_KEY_STORE_DIR ${dir} is on a volume`).toBeDefined();
      const init = (spec.initContainers as Obj[]).find((i) => i.name === 'key-store')!;
      expect((init.volumeMounts as Obj[]).some((m) => m.name === mount.name)).toBe(true);
      const fromSecret = (init.volumeMounts as Obj[])
        .map((m) => (spec.volumes as Obj[]).find((v) => v.name === m.name)!)
        .filter((v) => v.secret);
      expect(fromSecret.map((v) => v.secret.secretName)).toEqual(['xspectre-key-store']);
      // Memory only: the keys never touch a node's disk.
      expect((spec.volumes as Obj[]).find((v) => v.name === mount.name)!.emptyDir.medium).toBe('Memory');
    }
  });

  it('runs no container as root, each read-only and without privilege escalation except the hub’s NET_ADMIN', () => {
    for (const { name, spec } of podSpecs(renders[which])) {
      expect(spec.securityContext.runAsNonRoot, name).toBe(true);
      expect(spec.securityContext.runAsUser, name).toBeGreaterThan(0);
      for (const c of [...((spec.initContainers as Obj[]) ?? []), ...(spec.containers as Obj[])]) {
        const sc = c.securityContext as Obj;
        expect(sc.runAsNonRoot, `${name} ${c.name}`).toBe(true);
        expect(sc.runAsUser ?? spec.securityContext.runAsUser, `${name} ${c.name}`).toBeGreaterThan(0);
        expect(sc.privileged ?? false, `${name} ${c.name}`).toBe(false);
        expect(sc.readOnlyRootFilesystem, `${name} ${c.name}`).toBe(true);
        expect(sc.capabilities.drop, `${name} ${c.name}`).toEqual(['ALL']);
        const hubNetAdmin = name.endsWith('-hub') && ['hub', 'hub-setup'].includes(c.name as string);
        expect(sc.allowPrivilegeEscalation, `${name} ${c.name}`).toBe(hubNetAdmin);
        expect(sc.capabilities.add ?? [], `${name} ${c.name}`).toEqual(hubNetAdmin ? ['NET_ADMIN'] : []);
        expect(c.resources?.limits?.memory, `${name} ${c.name}: a memory limit`).toBeDefined();
      }
    }
  });

  it('sets only variables the API reads, secrets only by reference, and values its config accepts', async () => {
    const known = await configKeys('api/src/config/config.ts');
    for (const component of ['api', 'hub', 'worker', 'migrate']) {
      const kind = component === 'migrate' ? 'Job' : 'Deployment';
      const object = find(renders[which], kind, component);
      const main = (object.spec.template.spec.containers as Obj[])[0]!;
      const env = main.env as Obj[];
      expect(env.map((e) => e.name).filter((n: string) => !known.has(n))).toEqual([]);
      for (const secret of ['DB_URL', 'REDIS_URL', 'API_SECRET_KEY', 'DB_OWNER_URL']) {
        const entry = env.find((e) => e.name === secret);
        if (!entry) continue;
        expect(entry.value, `${component} ${secret} is not in the manifest`).toBeUndefined();
        expect(entry.valueFrom.secretKeyRef.key).toBe(secret);
      }
      if (component === 'migrate') continue;
      // The API's own parser takes the rendered environment (secrets stand in for the Secret).
      const plain = Object.fromEntries(env.filter((e) => 'value' in e).map((e) => [e.name, String(e.value)]));
      const config = loadConfig({
        ...plain,
        DB_URL: 'postgres://app@db:5432/xspectre',
        REDIS_URL: 'redis://redis:6379',
        API_SECRET_KEY: 'k'.repeat(48),
      });
      expect(config.API_KEY_STORE_DIR).toBe('/var/lib/xspectre/key-store/keys');
      expect(config.API_REMOTE_ACCESS).toBe(component === 'api' ? 'off' : 'on');
    }
  });

  it('gives the backup server and the console only variables they read', async () => {
    const objects = renders[which];
    const consoleEnv = (container(find(objects, 'Deployment', 'console'), 'console').env as Obj[]).map((e) => e.name as string);
    const server = await readFile(join(REPO, 'console/server.mjs'), 'utf8');
    expect(consoleEnv.filter((name) => name !== 'NEXT_TELEMETRY_DISABLED' && !server.includes(`process.env.${name}`))).toEqual([]);

    const backup = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'backup-server');
    if (which === 'default') return expect(backup).toEqual([]);
    const deployment = find(objects, 'Deployment', 'backup-server');
    expect(deployment.spec.template.spec.hostNetwork).toBe(true);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'xspectre.io/hub': 'true' });
    const env = container(deployment, 'backup-server').env as Obj[];
    const known = await configKeys('backup-server/src/config.ts');
    expect(env.map((e) => e.name).filter((n: string) => !known.has(n))).toEqual([]);
    const config = loadBackupServerConfig(Object.fromEntries(env.map((e) => [e.name, String(e.value)])));
    expect(config.BACKUP_LISTEN_HOST).toBe('10.10.0.1');
  });
});

describe('render lint', () => {
  it('fails a template that names a value values.yaml lacks (a typo), as helm lint --strict', async () => {
    const copy = join(out, 'typo', 'xspectre');
    await cp(CHART, copy, { recursive: true });
    const file = join(copy, 'templates/api-deployment.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('.Values.api.replicas }}', '.Values.api.replica }}'));
    const lint = await execa(render, ['lint', copy], { reject: false });
    expect(lint.exitCode).toBe(1);
    expect(lint.stderr).toContain('<.Values.api.replica>: map has no entry for key "replica"');
    const clean = await execa(render, ['lint', CHART], { reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('values the schema refuses', () => {
  it('refuses fewer than two API replicas, naming the value and why', async () => {
    const result = await renderWith(['--set', 'api.replicas=0']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
    expect(result.stderr).toContain('- api.replicas: Must be greater than or equal to 2 (API replicas: at least 2');
  });

  it('refuses a chart-made Secret without the database URL', async () => {
    const result = await renderWith(['-f', join(HELM, 'ci-values.yaml'), '--set', 'secrets.dbUrl=']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("- secrets.dbUrl: Does not match pattern '^postgres(ql)?://.+'");
    expect(result.stderr).toContain('required unless secrets.existingSecret names a Secret');
    // With an existing Secret the URL lives there, and the chart renders.
    const withSecret = await renderWith([
      '-f',
      join(HELM, 'ci-values.yaml'),
      '--set',
      'secrets.dbUrl=,secrets.existingSecret=xspectre-env',
    ]);
    expect(withSecret.exitCode, withSecret.stderr).toBe(0);
    expect(withSecret.stdout).not.toContain('kind: Secret');
  });

  it('refuses a secret among the plain settings, a hub without its node, and an unknown setting name', async () => {
    const result = await renderWith([
      '--set',
      'config.DB_URL=postgres://x@y/z',
      '--set',
      'hub.nodeSelector=null',
      '--set',
      'config.DEBUG=1',
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('- config.DB_URL: Must not validate the schema (not) (a secret: secrets.dbUrl or the existing Secret)');
    expect(result.stderr).toContain('- hub: nodeSelector is required');
    expect(result.stderr).toContain('- config.DEBUG: Does not match pattern');
  });
});
