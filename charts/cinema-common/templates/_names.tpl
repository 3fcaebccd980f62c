{{/*
Names and labels shared by every chart of the platform.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "cinema-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified name: <release>-<chart>, or the release name alone when it already contains the
chart name; fullnameOverride wins.
*/}}
{{- define "cinema-common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "cinema-common.hostFor" (dict "release" .Release.Name "name" (include "cinema-common.name" .)) -}}
{{- end -}}
{{- end -}}

{{/*
The in-cluster name of a platform service installed in the same release (same rule as fullname):
  include "cinema-common.hostFor" (dict "release" .Release.Name "name" "auth")
*/}}
{{- define "cinema-common.hostFor" -}}
{{- if contains .name .release -}}
{{- .release | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .release .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cinema-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the pods of one component; never change them on upgrade. */}}
{{- define "cinema-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cinema-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cinema-common.labels" -}}
helm.sh/chart: {{ include "cinema-common.chart" . }}
{{ include "cinema-common.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .Values.component | default "service" }}
app.kubernetes.io/part-of: cinema
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cinema-common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cinema-common.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag (tag defaults to the chart's appVersion), or repository@digest. */}}
{{- define "cinema-common.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}
