{{/*
Embedded chDB (clickhouse.embedded.enabled): the service runs the ClickHouse engine in its own
process at CHDB_PATH instead of calling a ClickHouse server. Applied to the values before
cinema-common renders them, and idempotent (every template of the chart includes it first):
  - CLICKHOUSE_URL (extraEnv) and CLICKHOUSE_PASSWORD (secretEnv) are dropped: without a URL
    @cinema/clickhouse opens chDB at CHDB_PATH (services/ugc-etl/src/config.ts);
  - CHDB_PATH (ConfigMap) is clickhouse.embedded.path, where the volume "chdb" is mounted: an
    emptyDir (sizeLimit = storage.size) or a PersistentVolumeClaim (this chart's or existingClaim);
  - one process only (chDB locks its path, and a second replica would hold a different part of
    the events): replicaCount above 1, autoscaling, a CronJob, a ClickHouse cluster or a
    CLICKHOUSE_URL in config are refused; the Deployment is Recreate (the old pod stops first).
*/}}
{{- define "ugc-etl.embedded" -}}
{{- $e := .Values.clickhouse.embedded -}}
{{- if $e.enabled -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- fail (printf "clickhouse.embedded: replicaCount must be 0 or 1, not %v (only one process may open a chDB path)" .Values.replicaCount) -}}
{{- end -}}
{{- if .Values.autoscaling.enabled -}}
{{- fail "clickhouse.embedded: autoscaling.enabled must be false (only one process may open a chDB path)" -}}
{{- end -}}
{{- if ne .Values.workload.kind "Deployment" -}}
{{- fail "clickhouse.embedded: workload.kind must be Deployment" -}}
{{- end -}}
{{- if or (hasKey .Values.config "CLICKHOUSE_URL") (hasKey .Values.config "CLICKHOUSE_CLUSTER") -}}
{{- fail "clickhouse.embedded: config.CLICKHOUSE_URL and config.CLICKHOUSE_CLUSTER are for a ClickHouse server; unset them" -}}
{{- end -}}
{{- $storage := $e.storage -}}
{{- $env := list -}}
{{- range .Values.extraEnv }}{{ if ne .name "CLICKHOUSE_URL" }}{{ $env = append $env . }}{{ end }}{{ end -}}
{{- $_ := set .Values "extraEnv" $env -}}
{{- $secrets := list -}}
{{- range .Values.secretEnv }}{{ if ne .name "CLICKHOUSE_PASSWORD" }}{{ $secrets = append $secrets . }}{{ end }}{{ end -}}
{{- $_ := set .Values "secretEnv" $secrets -}}
{{- $_ := set .Values.config "CHDB_PATH" $e.path -}}
{{- $volume := dict "name" "chdb" -}}
{{- if eq $storage.type "persistentVolumeClaim" -}}
{{- $_ := set $volume "persistentVolumeClaim" (dict "claimName" (include "ugc-etl.chdbClaim" .)) -}}
{{- else -}}
{{- $_ := set $volume "emptyDir" (dict "sizeLimit" $storage.size) -}}
{{- end -}}
{{- $volumes := list -}}
{{- range .Values.extraVolumes }}{{ if ne .name "chdb" }}{{ $volumes = append $volumes . }}{{ end }}{{ end -}}
{{- $_ := set .Values "extraVolumes" (append $volumes $volume) -}}
{{- $mounts := list -}}
{{- range .Values.extraVolumeMounts }}{{ if ne .name "chdb" }}{{ $mounts = append $mounts . }}{{ end }}{{ end -}}
{{- $_ := set .Values "extraVolumeMounts" (append $mounts (dict "name" "chdb" "mountPath" $e.path)) -}}
{{- $_ := set .Values "strategy" (dict "type" "Recreate") -}}
{{- with $e.resources -}}
{{- $_ := set $.Values "resources" . -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The PersistentVolumeClaim holding the chDB folder: existingClaim, else <fullname>-chdb. */}}
{{- define "ugc-etl.chdbClaim" -}}
{{- .Values.clickhouse.embedded.storage.existingClaim | default (printf "%s-chdb" (include "cinema-common.fullname" .)) -}}
{{- end -}}
