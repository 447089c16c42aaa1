{{/* Names: <release>-xspectre-<component>, cut to 63 characters as Kubernetes names must be. */}}
{{- define "xspectre.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "xspectre.name" -}}
{{- printf "%s-%s" (include "xspectre.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "xspectre.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "xspectre.labels" -}}
{{ include "xspectre.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* An image: registry prefix + repository + tag (default appVersion). */}}
{{- define "xspectre.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s%s:%s" .root.Values.image.registry .repository $tag -}}
{{- end -}}

{{- define "xspectre.envSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-env" (include "xspectre.fullname" .)) -}}
{{- end -}}

{{/* A container that is not root, cannot gain privileges and has a read-only root filesystem. */}}
{{- define "xspectre.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/*
The hub's containers: still not root, but with NET_ADMIN for ip and wg. Kubernetes gives an added
capability only to root processes, so the image's ip and wg carry it as a file capability
(setcap cap_net_admin+ep), which needs allowPrivilegeEscalation (infra/helm/README.md).
*/}}
{{- define "xspectre.hubSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: true
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  add: ["NET_ADMIN"]
{{- end -}}

{{/* Environment of every process of the api image: shared settings, then the secrets. */}}
{{- define "xspectre.apiEnv" -}}
{{- range $key, $value := .Values.config }}
{{- if ne (toString $value) "" }}
- name: {{ $key }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
- name: API_KEY_STORE_DIR
  value: {{ printf "%s/keys" .Values.keyStore.mountPath | quote }}
- name: API_AUDIT_ANCHOR_DIR
  value: /var/lib/xspectre/audit-anchors
- name: API_TERMINAL_RECORDINGS_DIR
  value: /var/lib/xspectre/recordings
{{- $secret := include "xspectre.envSecretName" . }}
{{- range $name, $optional := dict "DB_URL" false "REDIS_URL" false "API_SECRET_KEY" false "DB_OWNER_URL" true "API_SECRET_KEY_PREVIOUS" true "API_BOOTSTRAP_ADMIN_EMAIL" true "API_BOOTSTRAP_ADMIN_PASSWORD" true }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $name }}
      {{- if $optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/*
The key store: the Secret (one entry per file, <purpose>.<file>) copied by an init container
into a memory volume, because the API refuses a key store whose directories or files are
readable by group or others (api/src/keys/private-files.ts), and a Secret volume's are.
*/}}
{{- define "xspectre.keyStoreInit" -}}
- name: key-store
  image: {{ include "xspectre.image" (dict "root" . "repository" "xspectre/api") }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "/etc/xspectre/scripts/key-store.sh"]
  env:
    - name: API_KEY_STORE_DIR
      value: {{ printf "%s/keys" .Values.keyStore.mountPath | quote }}
  securityContext:
    {{- include "xspectre.containerSecurityContext" . | nindent 4 }}
  resources:
    requests: { cpu: 10m, memory: 16Mi }
    limits: { memory: 64Mi }
  volumeMounts:
    - name: key-store-secret
      mountPath: /etc/xspectre/key-store-secret
      readOnly: true
    - name: key-store
      mountPath: {{ .Values.keyStore.mountPath }}
    - name: scripts
      mountPath: /etc/xspectre/scripts
      readOnly: true
{{- end -}}

{{- define "xspectre.keyStoreVolumes" -}}
- name: key-store-secret
  secret:
    secretName: {{ .Values.keyStore.secretName }}
    defaultMode: 0440
- name: key-store
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
- name: scripts
  configMap:
    name: {{ include "xspectre.name" (dict "root" . "component" "scripts") }}
    defaultMode: 0555
{{- end -}}

{{- define "xspectre.keyStoreMount" -}}
- name: key-store
  mountPath: {{ .Values.keyStore.mountPath }}
{{- end -}}
