#!/usr/bin/env bash
# From nothing to the running cinema platform on a local kind cluster.
#
#   k8s/up.sh               cluster, operators, infrastructure, images, the umbrella chart, helm test
#   k8s/up.sh --infra-only  cluster, operators and infrastructure (then `skaffold dev` or `tilt up`)
#
# Needs: docker, kind, kubectl, helm (3.x), node (reads k8s/operators.json), openssl.
# Idempotent: run it again to converge; `kind delete cluster --name cinema` removes everything.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PINS="$ROOT/k8s/operators.json"
CLUSTER="${CLUSTER:-cinema}"
NS=cinema
INFRA_ONLY=0
[[ "${1:-}" == "--infra-only" ]] && INFRA_ONLY=1

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "missing: $1 ($2)" >&2; exit 1; }; }
need docker "https://docs.docker.com/get-docker/"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need helm "https://helm.sh/docs/intro/install/"
need node "https://nodejs.org"
need openssl "your distribution's openssl package"

# pin <operator> <js expression on the operator object>
pin() { node -e "const o=require('$PINS').operators.find(o=>o.name==='$1'); const v=($2); console.log(Array.isArray(v)?v.join('\n'):v)"; }

say "kind cluster $CLUSTER"
if ! kind get clusters | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-config.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

say "cert-manager (for the Jaeger operator's webhooks)"
kubectl apply -f "$(node -p "require('$PINS').certManager.manifest")"
kubectl -n cert-manager rollout status deploy/cert-manager-webhook --timeout=300s

for op in strimzi clickhouse mongodb eck rabbitmq jaeger; do
  version="$(pin "$op" o.version)"
  ns="$(pin "$op" o.namespace)"
  say "operator $op $version (namespace $ns)"
  if [[ "$(pin "$op" 'o.install.helm ? 1 : 0')" == 1 ]]; then
    chart="$(pin "$op" o.install.helm.chart)"
    repo="$(pin "$op" "o.install.helm.repo || ''")"
    args=(upgrade --install "$op" --namespace "$ns" --create-namespace --version "$version" --wait --timeout 10m)
    while IFS= read -r kv; do [[ -n "$kv" ]] && args+=(--set "$kv"); done < <(pin "$op" "o.install.helm.set || []")
    if [[ -n "$repo" ]]; then
      helm "${args[@]}" --repo "$repo" "$chart"
    else
      helm "${args[@]}" "$chart"
    fi
  else
    kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
    kubectl apply --server-side --force-conflicts -f "$(pin "$op" o.install.manifest)"
    kubectl -n "$ns" wait deploy --all --for=condition=Available --timeout=300s
  fi
done

say "namespace $NS and its secrets"
kubectl apply -f "$ROOT/k8s/infrastructure/00-namespace.yaml"
secret() { # secret <name> <key=value>...: created once, never rotated by this script
  local name="$1"; shift
  kubectl -n "$NS" get secret "$name" >/dev/null 2>&1 && return 0
  local args=()
  for kv in "$@"; do args+=(--from-literal="$kv"); done
  kubectl -n "$NS" create secret generic "$name" "${args[@]}"
}
rand() { openssl rand -hex 16; }
PG_PASSWORD="$(kubectl -n "$NS" get secret cinema-postgres -o jsonpath='{.data.password}' 2>/dev/null | base64 -d || true)"
PG_PASSWORD="${PG_PASSWORD:-$(rand)}"
secret cinema-postgres "password=$PG_PASSWORD"
secret cinema-postgres-app "url=postgres://cinema:$PG_PASSWORD@cinema-postgres:5432/cinema"
secret cinema-mongodb-password "password=$(rand)"
secret cinema-clickhouse-credentials "password=$(rand)"
secret cinema-auth-secrets "jwt-key-encryption-secret=$(rand)$(rand)"

say "infrastructure custom resources"
kubectl apply -f "$ROOT/k8s/infrastructure/"
kubectl -n "$NS" wait kafka/cinema-kafka --for=condition=Ready --timeout=900s
kubectl -n "$NS" wait elasticsearch/cinema --for=jsonpath='{.status.health}'=green --timeout=900s
kubectl -n "$NS" wait rabbitmqcluster/cinema-rabbitmq --for=condition=AllReplicasReady --timeout=600s
kubectl -n "$NS" wait mongodbcommunity/cinema-mongodb --for=jsonpath='{.status.phase}'=Running --timeout=900s
kubectl -n "$NS" wait chi/cinema --for=jsonpath='{.status.status}'=Completed --timeout=900s
kubectl -n "$NS" rollout status statefulset/cinema-postgres --timeout=300s
kubectl -n "$NS" rollout status deploy/cinema-redis --timeout=300s
kubectl -n "$NS" rollout status deploy/cinema-auth-redis --timeout=300s

if [[ "$INFRA_ONLY" == 1 ]]; then
  say "infrastructure ready; now: skaffold dev   (or: tilt up -f tilt/Tiltfile)"
  exit 0
fi

TAG="dev-$(date +%Y%m%d%H%M%S)"
SETS=()
for dir in "$ROOT"/services/*/; do
  svc="$(basename "$dir")"
  [[ -f "$ROOT/charts/$svc/Chart.yaml" ]] || { echo "no chart for service $svc" >&2; exit 1; }
  say "image cinema/$svc:$TAG"
  docker build --build-arg SERVICE="$svc" -t "cinema/$svc:$TAG" "$ROOT"
  kind load docker-image --name "$CLUSTER" "cinema/$svc:$TAG"
  SETS+=(--set "$svc.image.tag=$TAG")
done

say "umbrella chart"
sh "$ROOT/charts/build-deps.sh"
helm upgrade --install cinema "$ROOT/charts/cinema" --namespace "$NS" \
  -f "$ROOT/charts/cinema/profiles/dev.yaml" "${SETS[@]}" --wait --timeout 15m
helm test cinema --namespace "$NS" --timeout 5m

say "the platform is running"
cat <<EOF
  gateway:  kubectl -n $NS port-forward svc/cinema-gateway 8080:80        -> http://127.0.0.1:8080
  Swagger:  kubectl -n $NS port-forward svc/cinema-auth 8001:80           -> http://127.0.0.1:8001/docs
            (same for cinema-catalog-admin, cinema-catalog-api, cinema-ugc-collector, cinema-ugc-etl, cinema-ugc-api)
  Jaeger:   kubectl -n $NS port-forward svc/cinema-jaeger-query 16686     -> http://127.0.0.1:16686
  Kibana:   kubectl -n $NS port-forward svc/cinema-kb-http 5601            -> http://127.0.0.1:5601
            user elastic, password: kubectl -n $NS get secret cinema-es-elastic-user -o jsonpath='{.data.elastic}' | base64 -d
EOF
