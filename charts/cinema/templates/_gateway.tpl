{{- define "cinema.gateway.name" -}}
{{- include "cinema-common.hostFor" (dict "release" .Release.Name "name" "gateway") -}}
{{- end -}}

{{- define "cinema.gateway.selectorLabels" -}}
app.kubernetes.io/name: gateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cinema.gateway.labels" -}}
helm.sh/chart: {{ include "cinema-common.chart" . }}
{{ include "cinema.gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.gateway.image.tag | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: cinema
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* nginx.conf: JSON access log on stdout, X-Request-Id kept or made, one location per route. */}}
{{- define "cinema.gateway.conf" -}}
worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr notice;

events {
  worker_connections 1024;
}

http {
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 65;
  server_tokens off;
  client_max_body_size {{ .Values.gateway.clientMaxBodySize }};

  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;

  map $http_x_request_id $gateway_request_id {
    default $http_x_request_id;
    "" $request_id;
  }

  log_format gateway_json escape=json
    '{"time":"$time_iso8601",'
    '"request_id":"$gateway_request_id",'
    '"method":"$request_method",'
    '"path":"$uri",'
    '"query":"$args",'
    '"status":$status,'
    '"duration":$request_time,'
    '"bytes":$body_bytes_sent,'
    '"upstream":"$upstream_addr",'
    '"upstream_status":"$upstream_status",'
    '"upstream_duration":"$upstream_response_time",'
    '"remote_addr":"$remote_addr",'
    '"user_agent":"$http_user_agent"}';
  access_log /dev/stdout gateway_json;

  proxy_http_version 1.1;
  proxy_connect_timeout 5s;
  proxy_read_timeout 120s;
  proxy_set_header Host $http_host;
  proxy_set_header Connection "";
  proxy_set_header X-Request-Id $gateway_request_id;
  proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_set_header X-Forwarded-Host $host;
  proxy_set_header X-Forwarded-Port $server_port;
{{- range $svc, $paths := .Values.gateway.routes }}
{{- $values := index $.Values $svc | default dict }}
{{- if and $values.enabled $paths }}

  upstream {{ $svc }} {
    server {{ include "cinema-common.hostFor" (dict "release" $.Release.Name "name" $svc) }}:80;
    keepalive 16;
  }
{{- end }}
{{- end }}

  server {
    listen {{ .Values.gateway.port }};
    server_name _;
    add_header X-Request-Id $gateway_request_id always;

    location = /healthz {
      access_log off;
      default_type text/plain;
      return 200 "ok\n";
    }
{{- range $svc, $paths := .Values.gateway.routes }}
{{- $values := index $.Values $svc | default dict }}
{{- if $values.enabled }}
{{- range $paths }}

    # {{ $svc }}
    location ^~ {{ . }} {
      proxy_pass http://{{ $svc }};
    }
{{- end }}
{{- end }}
{{- end }}
  }
}
{{- end -}}
