{{/*
Common pod pieces: the service container (image, command with the telemetry preload, env from
the ConfigMap and Secret references, probes on /healthz and /readyz, resources, a restricted
securityContext) and the pod around it.
*/}}

{{/* The ConfigMap's data: the chart's `config` (values may use templates) plus HOST and PORT. */}}
{{- define "cinema-common.configData" -}}
HOST: "0.0.0.0"
PORT: {{ .Values.port | quote }}
SERVICE_NAME: {{ include "cinema-common.name" . | quote }}
OTEL_SERVICE_NAME: {{ include "cinema-common.name" . | quote }}
{{- range $key, $value := .Values.config }}
{{ $key }}: {{ tpl (toString $value) $ | quote }}
{{- end }}
{{- end -}}

{{/* One container; pass (dict "ctx" $ "probes" true|false). */}}
{{- define "cinema-common.container" -}}
{{- $ctx := .ctx -}}
{{- $probes := .probes -}}
- name: {{ include "cinema-common.name" $ctx }}
  image: {{ include "cinema-common.image" $ctx | quote }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  {{- with $ctx.Values.command }}
  command:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.args }}
  args:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: http
      containerPort: {{ $ctx.Values.port }}
      protocol: TCP
  envFrom:
    - configMapRef:
        name: {{ include "cinema-common.fullname" $ctx }}
  {{- if or $ctx.Values.secretEnv $ctx.Values.extraEnv }}
  env:
    {{- range $ctx.Values.secretEnv }}
    - name: {{ .name }}
      valueFrom:
        secretKeyRef:
          name: {{ tpl .secretName $ctx }}
          key: {{ .key }}
          {{- if hasKey . "optional" }}
          optional: {{ .optional }}
          {{- end }}
    {{- end }}
    {{- range $ctx.Values.extraEnv }}
    - name: {{ .name }}
      value: {{ tpl (toString .value) $ctx | quote }}
    {{- end }}
  {{- end }}
  {{- if $probes }}
  startupProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 2
    failureThreshold: 60
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 2
  {{- end }}
  resources:
    {{- toYaml $ctx.Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml (required "securityContext: keep cinema-common's restricted default or set your own" $ctx.Values.securityContext) | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- with $ctx.Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Pod template spec; pass (dict "ctx" $ "probes" true|false). */}}
{{- define "cinema-common.podTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "cinema-common.labels" $ctx | nindent 4 }}
  annotations:
    checksum/config: {{ include "cinema-common.configData" $ctx | sha256sum }}
    {{- with $ctx.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "cinema-common.serviceAccountName" $ctx }}
  automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountToken | default false }}
  {{- with $ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml (required "podSecurityContext: keep cinema-common's default (runAsNonRoot) or set your own" $ctx.Values.podSecurityContext) | nindent 4 }}
  terminationGracePeriodSeconds: {{ $ctx.Values.terminationGracePeriodSeconds }}
  {{- if not .probes }}
  restartPolicy: OnFailure
  {{- end }}
  containers:
    {{- include "cinema-common.container" (dict "ctx" $ctx "probes" .probes) | nindent 4 }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with $ctx.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $ctx.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
