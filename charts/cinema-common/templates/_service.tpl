{{/*
Everything a platform service chart renders, from its values:
  {{ include "cinema-common.service" . }}
ServiceAccount, ConfigMap, Deployment (or CronJob when workload.kind is CronJob), Service,
PodDisruptionBudget, HorizontalPodAutoscaler (autoscaling.enabled) and the Strimzi KafkaTopics
the service owns (kafkaTopics.enabled).
*/}}
{{- define "cinema-common.service" -}}
{{- $cron := eq .Values.workload.kind "CronJob" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "cinema-common.serviceAccountName" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken | default false }}
{{- end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
data:
  {{- include "cinema-common.configData" . | nindent 2 }}
{{- if $cron }}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
spec:
  schedule: {{ .Values.workload.schedule | quote }}
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: {{ .Values.workload.backoffLimit }}
      activeDeadlineSeconds: {{ .Values.workload.activeDeadlineSeconds }}
      template:
        {{- include "cinema-common.podTemplate" (dict "ctx" . "probes" false) | nindent 8 }}
{{- else }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    {{- if eq (dig "type" "RollingUpdate" (.Values.strategy | default dict)) "Recreate" }}
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
    {{- end }}
  selector:
    matchLabels:
      {{- include "cinema-common.selectorLabels" . | nindent 6 }}
  template:
    {{- include "cinema-common.podTemplate" (dict "ctx" . "probes" true) | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "cinema-common.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- if .Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
spec:
  {{- if hasKey .Values.podDisruptionBudget "maxUnavailable" }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  {{- else }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "cinema-common.selectorLabels" . | nindent 6 }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "cinema-common.fullname" . }}
  labels:
    {{- include "cinema-common.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "cinema-common.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}
{{- if .Values.kafkaTopics.enabled }}
{{- range .Values.kafkaTopics.topics }}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaTopic
metadata:
  name: {{ .name | replace "_" "-" | replace "." "-" | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "cinema-common.labels" $ | nindent 4 }}
    strimzi.io/cluster: {{ $.Values.kafkaTopics.cluster }}
spec:
  topicName: {{ .name }}
  partitions: {{ .partitions | default $.Values.kafkaTopics.partitions }}
  replicas: {{ .replicas | default $.Values.kafkaTopics.replicas }}
  config:
    retention.ms: {{ .retentionMs | default $.Values.kafkaTopics.retentionMs | int64 | quote }}
    min.insync.replicas: {{ $.Values.kafkaTopics.minInsyncReplicas | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
helm test hook: a pod that calls the service's /readyz and /openapi.json through its Service.
  {{ include "cinema-common.testHook" . }}
*/}}
{{- define "cinema-common.testHook" -}}
{{- if and .Values.tests.enabled (ne .Values.workload.kind "CronJob") }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "cinema-common.fullname" . }}-test
  # Not the service's selector labels: the Service must never route to this pod.
  labels:
    helm.sh/chart: {{ include "cinema-common.chart" . }}
    app.kubernetes.io/name: {{ include "cinema-common.name" . }}-test
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: test
    app.kubernetes.io/part-of: cinema
    app.kubernetes.io/managed-by: {{ .Release.Service }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 100
    runAsGroup: 101
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: call
      image: {{ .Values.tests.image | quote }}
      command: ["sh", "-c"]
      args:
        - >-
          set -e;
          curl -fsS --retry 10 --retry-all-errors --retry-delay 3
          http://{{ include "cinema-common.fullname" . }}:{{ .Values.service.port }}/readyz;
          {{- range .Values.tests.paths }}
          curl -fsS -o /dev/null -w '%{http_code} {{ . }}\n'
          http://{{ include "cinema-common.fullname" $ }}:{{ $.Values.service.port }}{{ . }};
          {{- end }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          memory: 32Mi
{{- end }}
{{- end -}}

{{/*
NOTES.txt of a service chart.
*/}}
{{- define "cinema-common.notes" -}}
{{- $name := include "cinema-common.fullname" . -}}
{{ .Chart.Name }} {{ .Chart.AppVersion }} is installed as {{ $name }} in namespace {{ .Release.Namespace }}.
{{- if eq .Values.workload.kind "CronJob" }}

It runs as a CronJob on schedule "{{ .Values.workload.schedule }}":
  kubectl -n {{ .Release.Namespace }} get cronjob,jobs -l app.kubernetes.io/instance={{ .Release.Name }}
{{- else }}

Reach it from your machine:
  kubectl -n {{ .Release.Namespace }} port-forward svc/{{ $name }} {{ .Values.port }}:{{ .Values.service.port }}
  open http://127.0.0.1:{{ .Values.port }}/docs         (Swagger UI)
       http://127.0.0.1:{{ .Values.port }}/openapi.json (OpenAPI document)
       http://127.0.0.1:{{ .Values.port }}/readyz

Check it: helm test {{ .Release.Name }} -n {{ .Release.Namespace }}
{{- end }}
{{- range .Values.secretEnv }}
{{- if not .optional }}
Needs Secret {{ tpl .secretName $ }} (key {{ .key }}) for {{ .name }}.
{{- end }}
{{- end }}
{{- end -}}
