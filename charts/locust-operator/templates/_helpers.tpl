{{/*
Names, labels and the operator's configuration, computed once here so every template agrees.
*/}}

{{- define "locust-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name: the release name alone when it already contains the chart name. */}}
{{- define "locust-operator.fullname" -}}
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

{{- define "locust-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "locust-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "locust-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "locust-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: locust-operator
{{- end }}

{{- define "locust-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "locust-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "locust-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The namespace the operator watches, or "" for all namespaces. */}}
{{- define "locust-operator.watchNamespace" -}}
{{- if .Values.watchNamespace }}
{{- .Values.watchNamespace }}
{{- else if not .Values.k8s.clusterRole.enabled }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* "true" when more than one replica may run, so only the Lease holder reconciles. */}}
{{- define "locust-operator.leaderElect" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if kindIs "bool" .Values.leaderElection.enabled }}
{{- if and (gt $replicas 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "leaderElection.enabled=false with replicaCount=%d: several replicas would reconcile the same tests; use one replica or leave leaderElection.enabled unset" $replicas) }}
{{- end }}
{{- .Values.leaderElection.enabled }}
{{- else }}
{{- gt $replicas 1 }}
{{- end }}
{{- end }}

{{- define "locust-operator.leaseName" -}}
{{- printf "%s-leader" (include "locust-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "locust-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "locust-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "locust-operator.servingCertName" -}}
{{- printf "%s-serving-cert" (include "locust-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "locust-operator.webhookSecretName" -}}
{{- printf "%s-webhook-certs" (include "locust-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the operator writes its own CA into the CRD (webhook on, no cert-manager). */}}
{{- define "locust-operator.selfManagedCerts" -}}
{{- and .Values.webhook.enabled (not .Values.webhook.certManager.enabled) }}
{{- end }}

{{/* Where cert-manager's certificate is mounted in the operator container. */}}
{{- define "locust-operator.webhookCertPath" -}}
/etc/locust-operator/webhook-certs
{{- end }}

{{/*
A value as the text the operator reads: strings unchanged, whole numbers without an exponent
(YAML numbers reach templates as floats, and 1e+06 is not what anyone typed).
*/}}
{{- define "locust-operator.text" -}}
{{- if kindIs "string" . }}
{{- . }}
{{- else if kindIs "bool" . }}
{{- . | toString }}
{{- else if eq (float64 (int64 .)) (float64 .) }}
{{- int64 . | toString }}
{{- else }}
{{- . | toString }}
{{- end }}
{{- end }}

{{/*
One `- name: ... value: ...` entry, or nothing when the value is null (unset: the operator's
built-in default applies). An empty string is passed on: for the operator it means "leave this
field out" (an empty CPU limit disables the limit).
Arguments: (list NAME VALUE).
*/}}
{{- define "locust-operator.envEntry" -}}
{{- $name := index . 0 }}
{{- $value := index . 1 }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ $name }}
  value: {{ include "locust-operator.text" $value | quote }}
{{- end }}
{{- end }}

{{/*
The environment the operator reads its test-pod defaults from (shared::config::OperatorConfig).
Deprecated `config.*` paths (the Java-era chart) still work: a value set there is used.
*/}}
{{- define "locust-operator.configEnv" -}}
{{- $pods := .Values.locustPods }}
{{- $legacy := .Values.config | default dict }}
{{- $legacyPods := $legacy.loadGenerationPods | default dict }}
{{- $legacyResource := $legacyPods.resource | default dict }}
{{- $requests := $pods.resources.requests | default dict }}
{{- $limits := $pods.resources.limits | default dict }}
{{- /* Unified defaults: a deprecated value, when set, replaces the chart default. */}}
{{- $unified := list
  (list "POD_CPU_REQUEST" $requests.cpu $legacyResource.cpuRequest)
  (list "POD_MEM_REQUEST" $requests.memory $legacyResource.memRequest)
  (list "POD_EPHEMERAL_REQUEST" $requests.ephemeralStorage $legacyResource.ephemeralRequest)
  (list "POD_CPU_LIMIT" $limits.cpu $legacyResource.cpuLimit)
  (list "POD_MEM_LIMIT" $limits.memory $legacyResource.memLimit)
  (list "POD_EPHEMERAL_LIMIT" $limits.ephemeralStorage $legacyResource.ephemeralLimit) }}
{{- range $unified }}
{{- $value := index . 1 }}
{{- if not (kindIs "invalid" (index . 2)) }}
{{- $value = index . 2 }}
{{- end }}
{{- include "locust-operator.envEntry" (list (index . 0) $value) }}
{{- end }}
{{- range $role := list "master" "worker" }}
{{- $roleResources := get $pods (printf "%sResources" $role) | default dict }}
{{- $roleRequests := $roleResources.requests | default dict }}
{{- $roleLimits := $roleResources.limits | default dict }}
{{- $prefix := printf "%s_POD_" (upper $role) }}
{{- include "locust-operator.envEntry" (list (print $prefix "CPU_REQUEST") $roleRequests.cpu) }}
{{- include "locust-operator.envEntry" (list (print $prefix "MEM_REQUEST") $roleRequests.memory) }}
{{- include "locust-operator.envEntry" (list (print $prefix "EPHEMERAL_REQUEST") $roleRequests.ephemeralStorage) }}
{{- include "locust-operator.envEntry" (list (print $prefix "CPU_LIMIT") $roleLimits.cpu) }}
{{- include "locust-operator.envEntry" (list (print $prefix "MEM_LIMIT") $roleLimits.memory) }}
{{- include "locust-operator.envEntry" (list (print $prefix "EPHEMERAL_LIMIT") $roleLimits.ephemeralStorage) }}
{{- end }}
{{- /* TTL: "" or null keeps finished Jobs; 0 deletes them at once (hence no truthiness test). */}}
{{- $ttl := $pods.ttlSecondsAfterFinished }}
{{- if or (kindIs "invalid" $ttl) (eq (toString $ttl) "") }}
{{- $ttl = ($legacy.loadGenerationJobs | default dict).ttlSecondsAfterFinished }}
{{- end }}
{{- if and (not (kindIs "invalid" $ttl)) (ne (toString $ttl) "") }}
{{- include "locust-operator.envEntry" (list "JOB_TTL_SECONDS_AFTER_FINISHED" $ttl) }}
{{- end }}
{{- $affinity := $pods.affinityInjection }}
{{- $legacyAffinity := ($legacyPods.affinity | default dict).enableCrInjection }}
{{- if not (kindIs "invalid" $legacyAffinity) }}
{{- $affinity = $legacyAffinity }}
{{- end }}
{{- include "locust-operator.envEntry" (list "ENABLE_AFFINITY_CR_INJECTION" $affinity) }}
{{- $tolerations := $pods.tolerationsInjection }}
{{- $legacyTolerations := ($legacyPods.taintTolerations | default dict).enableCrInjection }}
{{- if not (kindIs "invalid" $legacyTolerations) }}
{{- $tolerations = $legacyTolerations }}
{{- end }}
{{- include "locust-operator.envEntry" (list "ENABLE_TAINT_TOLERATIONS_CR_INJECTION" $tolerations) }}
{{- if $pods.runtimeClassName }}
{{- include "locust-operator.envEntry" (list "DEFAULT_RUNTIME_CLASS_NAME" $pods.runtimeClassName) }}
{{- end }}
{{- include "locust-operator.kafkaEnv" . }}
{{- end }}

{{/*
Kafka settings for the test pods. The operator is only told which Secret holds the credentials:
the pods read username and password from it through secretKeyRef, in the test's namespace.
*/}}
{{- define "locust-operator.kafkaEnv" -}}
{{- $kafka := .Values.kafka }}
{{- $legacyKafka := ((.Values.config | default dict).loadGenerationPods | default dict).kafka | default dict }}
{{- $legacyAcl := $legacyKafka.acl | default dict }}
{{- $legacySecret := $legacyAcl.secret | default dict }}
{{- $legacySasl := $legacyKafka.sasl | default dict }}
{{- $legacyUser := $legacyKafka.locustK8sKafkaUser | default dict }}
{{- $servers := "" }}
{{- if $kafka.enabled }}
{{- $servers = $kafka.bootstrapServers }}
{{- else if $legacyKafka.bootstrapServers }}
{{- $servers = $legacyKafka.bootstrapServers }}
{{- end }}
{{- if $servers }}
{{- $security := $kafka.security }}
{{- $securityEnabled := and $kafka.enabled $security.enabled }}
{{- if not $kafka.enabled }}
{{- $securityEnabled = $legacyAcl.enabled | default false }}
{{- end }}
{{- include "locust-operator.envEntry" (list "KAFKA_BOOTSTRAP_SERVERS" $servers) }}
{{- include "locust-operator.envEntry" (list "KAFKA_SECURITY_ENABLED" $securityEnabled) }}
{{- if $securityEnabled }}
{{- if $kafka.enabled }}
{{- include "locust-operator.envEntry" (list "KAFKA_SECURITY_PROTOCOL_CONFIG" $security.protocol) }}
{{- include "locust-operator.envEntry" (list "KAFKA_SASL_MECHANISM" $security.saslMechanism) }}
{{- if $security.jaasConfig }}
{{- include "locust-operator.envEntry" (list "KAFKA_SASL_JAAS_CONFIG" $security.jaasConfig) }}
{{- end }}
{{- else }}
{{- include "locust-operator.envEntry" (list "KAFKA_SECURITY_PROTOCOL_CONFIG" ($legacyAcl.protocol | default "SASL_PLAINTEXT")) }}
{{- include "locust-operator.envEntry" (list "KAFKA_SASL_MECHANISM" ($legacySasl.mechanism | default "SCRAM-SHA-512")) }}
{{- with ($legacySasl.jaas | default dict).config }}
{{- include "locust-operator.envEntry" (list "KAFKA_SASL_JAAS_CONFIG" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $kafka.enabled $kafka.credentials.secretName }}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_SECRET" $kafka.credentials.secretName) }}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_USERNAME_KEY" $kafka.credentials.usernameKey) }}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_PASSWORD_KEY" $kafka.credentials.passwordKey) }}
{{- else if and (not $kafka.enabled) $legacyUser.userName }}
{{- /* In the Java-era chart the KafkaUser's name was also the name of its Secret. */}}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_SECRET" $legacyUser.userName) }}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_USERNAME_KEY" ($legacySecret.userKey | default "username")) }}
{{- include "locust-operator.envEntry" (list "KAFKA_CREDENTIALS_PASSWORD_KEY" ($legacySecret.passwordKey | default "password")) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Deprecated values in use, for NOTES.txt. */}}
{{- define "locust-operator.deprecations" -}}
{{- if .Values.config }}
- `config.*` is deprecated: move each setting to its `locustPods.*` or `kafka.*` path (see values.yaml).
{{- end }}
{{- if .Values.locustPods.metricsExporter }}
- `locustPods.metricsExporter` is ignored: this operator runs no exporter sidecar; Locust's
  statistics are in each LocustTest's status and the master Service serves the web UI on 8089.
{{- end }}
{{- end }}

{{/* Whether the metrics Service is rendered: the Go chart's metrics.enabled decides when set. */}}
{{- define "locust-operator.metricsService" -}}
{{- if hasKey .Values.metrics "enabled" }}
{{- ternary "true" "" (.Values.metrics.enabled | toString | eq "true") }}
{{- else }}
{{- ternary "true" "" (.Values.metrics.service.enabled | toString | eq "true") }}
{{- end }}
{{- end }}

{{/* Go-chart values this chart cannot honour: refused with what to do instead. */}}
{{- define "locust-operator.refuseUnsupportedGoValues" -}}
{{- if .Values.metrics.secure }}
{{- fail "metrics.secure=true is not supported: the operator serves /metrics over plain HTTP on metrics.port (with /healthz and /readyz). Set metrics.secure=false and restrict access with a NetworkPolicy" }}
{{- end }}
{{- if and .Values.otelCollector .Values.otelCollector.enabled }}
{{- fail "otelCollector.enabled=true is not supported: this chart does not deploy an OpenTelemetry collector. Install one separately (e.g. the opentelemetry-collector chart), point each test's spec.observability.openTelemetry.endpoint at it, and set otelCollector.enabled=false" }}
{{- end }}
{{- end }}
