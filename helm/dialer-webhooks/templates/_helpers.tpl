{{/*
Names, labels and the checks every render runs. Resource names are at most 63 characters.
*/}}

{{- define "dialer-webhooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dialer-webhooks.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dialer-webhooks.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The recommended app.kubernetes.io labels, on every resource. */}}
{{- define "dialer-webhooks.labels" -}}
helm.sh/chart: {{ include "dialer-webhooks.chart" . }}
{{ include "dialer-webhooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: dialer-webhooks
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: stable across upgrades (never add the version here). */}}
{{- define "dialer-webhooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dialer-webhooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dialer-webhooks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dialer-webhooks.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dialer-webhooks.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the Secret the pods read credentials from. */}}
{{- define "dialer-webhooks.secretName" -}}
{{- .Values.existingSecret | default (include "dialer-webhooks.fullname" .) }}
{{- end }}

{{/*
Name of the Secret the migration Job reads: a hook Secret of its own (hooks run before the
release's regular resources exist), or the existing Secret.
*/}}
{{- define "dialer-webhooks.migrationSecretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- printf "%s-migrate" (include "dialer-webhooks.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/* Secret data shared by the release Secret and the migration hook Secret. */}}
{{- define "dialer-webhooks.secretData" -}}
DATABASE_URL: {{ .Values.secrets.databaseUrl | b64enc | quote }}
{{- if .Values.secrets.kafkaSaslPassword }}
KAFKA_SASL_PASSWORD: {{ .Values.secrets.kafkaSaslPassword | b64enc | quote }}
{{- end }}
{{- if .Values.secrets.schemaRegistryPassword }}
SCHEMA_REGISTRY_PASSWORD: {{ .Values.secrets.schemaRegistryPassword | b64enc | quote }}
{{- end }}
{{- end }}

{{/* Keys of the credentials in the Secret the pods read. */}}
{{- define "dialer-webhooks.secretKey" -}}
{{- $ctx := index . 0 }}
{{- $which := index . 1 }}
{{- if $ctx.Values.existingSecret }}
{{- index $ctx.Values.existingSecretKeys $which }}
{{- else }}
{{- index (dict "databaseUrl" "DATABASE_URL" "kafkaSaslPassword" "KAFKA_SASL_PASSWORD" "schemaRegistryPassword" "SCHEMA_REGISTRY_PASSWORD") $which }}
{{- end }}
{{- end }}

{{/*
Credential environment variables, from the Secret named by the argument's "secret". The SASL and
registry passwords are only read when their feature is configured.
*/}}
{{- define "dialer-webhooks.secretEnv" -}}
{{- $ctx := .ctx }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ include "dialer-webhooks.secretKey" (list $ctx "databaseUrl") }}
{{- if $ctx.Values.kafka.sasl.mechanism }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ include "dialer-webhooks.secretKey" (list $ctx "kafkaSaslPassword") }}
{{- end }}
{{- if $ctx.Values.schemaRegistry.username }}
- name: SCHEMA_REGISTRY_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ include "dialer-webhooks.secretKey" (list $ctx "schemaRegistryPassword") }}
{{- end }}
{{- end }}

{{/* NODE_EXTRA_CA_CERTS and ADMIN_MIGRATIONS_DIR mounts, shared by the Deployment and the Job. */}}
{{- define "dialer-webhooks.caEnv" -}}
{{- if .Values.extraCACerts.secretName }}
- name: NODE_EXTRA_CA_CERTS
  value: {{ printf "/etc/dialer-webhooks/ca/%s" .Values.extraCACerts.key | quote }}
{{- end }}
{{- end }}

{{- define "dialer-webhooks.caVolumeMount" -}}
{{- if .Values.extraCACerts.secretName }}
- name: extra-ca-certs
  mountPath: /etc/dialer-webhooks/ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "dialer-webhooks.caVolume" -}}
{{- if .Values.extraCACerts.secretName }}
- name: extra-ca-certs
  secret:
    secretName: {{ .Values.extraCACerts.secretName }}
    items:
      - key: {{ .Values.extraCACerts.key }}
        path: {{ .Values.extraCACerts.key }}
{{- end }}
{{- end }}

{{/* Termination grace: SHUTDOWN_TIMEOUT_MS plus 15 s, unless set. */}}
{{- define "dialer-webhooks.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (div (add (int .Values.config.shutdownTimeoutMs) 999) 1000) 15 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
The checks every render runs (included once, from configmap.yaml). Each failed check adds a
message naming the values to set; any message fails the render (dialer-webhooks.fail).
*/}}
{{- define "dialer-webhooks.validate" -}}
{{- $errors := list }}
{{- if and (not .Values.existingSecret) (not .Values.secrets.databaseUrl) }}
{{- $errors = append $errors "the database URL is missing. Set secrets.databaseUrl (postgres://USER:PASSWORD@HOST:5432/DB), or existingSecret to the name of a Secret with a DATABASE_URL key" }}
{{- end }}
{{- if and .Values.secrets.databaseUrl (not (regexMatch "^postgres(ql)?://" .Values.secrets.databaseUrl)) }}
{{- $errors = append $errors "secrets.databaseUrl must be a postgres:// or postgresql:// URL" }}
{{- end }}
{{- if not .Values.kafka.brokers }}
{{- $errors = append $errors "kafka.brokers is empty. Set it to the bootstrap brokers, e.g. --set kafka.brokers='{kafka-0.kafka:9092}'" }}
{{- end }}
{{- if .Values.kafka.sasl.mechanism }}
{{- if not .Values.kafka.sasl.username }}
{{- $errors = append $errors "kafka.sasl.mechanism is set but kafka.sasl.username is empty" }}
{{- end }}
{{- if and (not .Values.existingSecret) (not .Values.secrets.kafkaSaslPassword) }}
{{- $errors = append $errors "kafka.sasl.mechanism is set but there is no password: set secrets.kafkaSaslPassword, or existingSecret (key existingSecretKeys.kafkaSaslPassword)" }}
{{- end }}
{{- end }}
{{- if and .Values.schemaRegistry.username (not .Values.existingSecret) (not .Values.secrets.schemaRegistryPassword) }}
{{- $errors = append $errors "schemaRegistry.username is set but secrets.schemaRegistryPassword is empty (or use existingSecret)" }}
{{- end }}
{{- if gt (int .Values.config.responseBodyStoreBytes) (int .Values.config.responseBodyReadBytes) }}
{{- $errors = append $errors "config.responseBodyStoreBytes must not exceed config.responseBodyReadBytes" }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.maxReplicas) (int .Values.kafka.inputPartitions) }}
{{- $errors = append $errors (printf "autoscaling.maxReplicas (%d) exceeds kafka.inputPartitions (%d). A consumer group never uses more pods than partitions: lower autoscaling.maxReplicas, or add partitions to the input topics and raise kafka.inputPartitions" (int .Values.autoscaling.maxReplicas) (int .Values.kafka.inputPartitions)) }}
{{- end }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%d) exceeds autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable) (kindIs "invalid" .Values.podDisruptionBudget.minAvailable) }}
{{- $errors = append $errors "podDisruptionBudget.enabled needs podDisruptionBudget.maxUnavailable or podDisruptionBudget.minAvailable" }}
{{- end }}
{{- $grace := int (include "dialer-webhooks.terminationGracePeriodSeconds" .) }}
{{- if le (mul $grace 1000) (int .Values.config.shutdownTimeoutMs) }}
{{- $errors = append $errors (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdownTimeoutMs (%d ms), or Kubernetes kills pods in the middle of their graceful shutdown" $grace (int .Values.config.shutdownTimeoutMs)) }}
{{- end }}
{{- if $errors }}
{{- include "dialer-webhooks.fail" (printf "dialer-webhooks: %s." (join ".\ndialer-webhooks: " $errors)) }}
{{- end }}
{{- end }}

{{/*
Fails the render with the message given. `helm lint` does not stop at `fail` (in lint mode it
only logs "[INFO] Fail: ..." and goes on), so what follows the `fail` is rendered by `helm lint`
alone: a Deployment named by the message and without a selector, which lint reports as an
[ERROR] quoting that name. A failed check so fails `helm lint` as well as `helm template` and
`helm install`. (Lint looks for the selector's key words anywhere in the file: the messages must
not contain them.)
*/}}
{{- define "dialer-webhooks.fail" -}}
{{- fail (printf "\n\n%s" .) }}
---
# Rendered by `helm lint` only (see dialer-webhooks.fail in _helpers.tpl).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ . | replace "\n" " " | quote }}
---
{{- end }}
