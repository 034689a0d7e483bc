{{/*
Names. Kubernetes names are at most 63 characters; fullname leaves room for the suffixes below
(-gossip, -key, -ingest-...).
*/}}
{{- define "leakdex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "leakdex.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "leakdex.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "leakdex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leakdex.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "leakdex.labels" -}}
helm.sh/chart: {{ include "leakdex.chart" . }}
{{ include "leakdex.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: leakdex
{{- end }}

{{/* The headless Service: gossip seeds and the per-pod DNS names nodes advertise. */}}
{{- define "leakdex.gossipService" -}}
{{- printf "%s-gossip" (include "leakdex.fullname" .) }}
{{- end }}

{{- define "leakdex.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "leakdex.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "leakdex.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The credentials Secret: the user's, or the chart's. */}}
{{- define "leakdex.secretName" -}}
{{- default (include "leakdex.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Whether any credential is configured, so that pods refer to the Secret at all. */}}
{{- define "leakdex.hasCredentials" -}}
{{- if or .Values.existingSecret .Values.catalog.url .Values.storage.accessKeyId .Values.storage.secretAccessKey }}true{{ end }}
{{- end }}

{{- define "leakdex.keySecretName" -}}
{{- default (printf "%s-key" (include "leakdex.fullname" .)) .Values.fingerprintKey.existingSecret }}
{{- end }}

{{- define "leakdex.keySecretKey" -}}
{{- if .Values.fingerprintKey.existingSecret }}{{ .Values.fingerprintKey.secretKey }}{{ else }}fingerprint.key{{ end }}
{{- end }}

{{/* The gRPC Service's address, as a client inside the cluster dials it. */}}
{{- define "leakdex.serverUrl" -}}
{{- printf "%s://%s.%s.svc.%s:%d" (ternary "https" "http" .Values.tls.enabled) (include "leakdex.fullname" .) .Release.Namespace .Values.cluster.clusterDomain (int .Values.service.port) }}
{{- end }}

{{/*
The credentials every leakdex container of the release takes from the Secret, as env entries
(the ConfigMap comes in through envFrom). The catalog URL is not optional: with the Secret in use,
a pod without it fails to start naming the key `catalog-url`, rather than run on a private catalog
of its own. The S3 keys are optional, for pods that get credentials another way.
*/}}
{{- define "leakdex.backendEnv" -}}
{{- if include "leakdex.hasCredentials" . -}}
- name: LEAKDEX_CATALOG
  valueFrom:
    secretKeyRef:
      name: {{ include "leakdex.secretName" . }}
      key: catalog-url
{{ include "leakdex.s3KeyEnv" . }}
{{- end }}
{{- end }}

{{/* The S3 keys from the Secret, optional (see leakdex.backendEnv). */}}
{{- define "leakdex.s3KeyEnv" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "leakdex.secretName" . }}
      key: s3-access-key-id
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "leakdex.secretName" . }}
      key: s3-secret-access-key
      optional: true
{{- end }}

{{/*
The object store's client settings (AWS_* as leakdex's S3 client reads them), as ConfigMap data:
configmap.yaml holds them, leakdex.objectEnv refers to them.
*/}}
{{- define "leakdex.objectConfig" -}}
{{- with .Values.storage.endpoint }}
AWS_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.storage.region }}
AWS_REGION: {{ . | quote }}
{{- end }}
{{- if .Values.storage.allowHttp }}
AWS_ALLOW_HTTP: "true"
{{- end }}
{{- end }}

{{/*
Only what an S3 client needs, for a container that reads or writes objects but otherwise talks to
the gRPC Service (the lookup Job through the server with s3:// queries or answers): the AWS_*
settings from the ConfigMap and the S3 keys from the Secret, not the catalog URL. Env entries, or
nothing.
*/}}
{{- define "leakdex.objectEnv" -}}
{{- $configMap := include "leakdex.fullname" . }}
{{- range $name, $_ := include "leakdex.objectConfig" . | fromYaml }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: {{ $name }}
{{- end }}
{{- if include "leakdex.hasCredentials" . }}
{{ include "leakdex.s3KeyEnv" . }}
{{- end }}
{{- end }}

{{- define "leakdex.configEnvFrom" -}}
- configMapRef:
    name: {{ include "leakdex.fullname" . }}
{{- end }}

{{/* The fingerprint key as a file: mode 0440, group-readable through fsGroup. */}}
{{- define "leakdex.keyVolume" -}}
- name: fingerprint-key
  secret:
    secretName: {{ include "leakdex.keySecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "leakdex.keySecretKey" . }}
        path: fingerprint.key
{{- end }}

{{- define "leakdex.keyMount" -}}
- name: fingerprint-key
  mountPath: /etc/leakdex/key
  readOnly: true
{{- end }}

{{/*
A volume source from {existingClaim, volume, configMap} values, or nothing. Call with a dict:
(dict "source" .Values.x.input "readOnly" true).
*/}}
{{- define "leakdex.volumeSource" -}}
{{- if .source.existingClaim -}}
persistentVolumeClaim:
  claimName: {{ .source.existingClaim }}
  readOnly: {{ .readOnly }}
{{- else if .source.configMap -}}
configMap:
  name: {{ .source.configMap }}
{{- else if .source.volume -}}
{{ toYaml .source.volume }}
{{- end }}
{{- end }}

{{/* A Job's name: <fullname>-<kind>-<what>-<runId>, within the 63 characters of a label value. */}}
{{- define "leakdex.jobName" -}}
{{- $what := regexReplaceAll "[^a-z0-9-]+" (.what | lower) "-" | trunc 14 | trimAll "-" }}
{{- $parts := list (include "leakdex.fullname" .root) .kind }}
{{- if $what }}{{ $parts = append $parts $what }}{{ end }}
{{- $run := regexReplaceAll "[^a-z0-9-]+" (.runId | toString | lower) "-" | trunc 8 | trimAll "-" }}
{{- if $run }}{{ $parts = append $parts $run }}{{ end }}
{{- join "-" $parts | trunc 63 | trimSuffix "-" }}
{{- end }}
