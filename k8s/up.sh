#!/usr/bin/env bash
# From nothing to the running cinema platform on a local kind cluster.
#
#   k8s/up.sh               cluster, operators, the platform operator and its CinemaPlatform
#                           (infrastructure + Secrets), images, the umbrella chart, helm test
#   k8s/up.sh --infra-only  the same up to the infrastructure (then `skaffold dev` or `tilt up`)
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

say "namespace $NS"
kubectl apply -f "$ROOT/k8s/infrastructure/00-namespace.yaml"

# Images: the operator's first (the infrastructure needs it), the services' unless --infra-only.
TAG="dev-$(date +%Y%m%d%H%M%S)"
SETS=()
image() {
  local svc="$1"
  [[ -f "$ROOT/charts/$svc/Chart.yaml" ]] || { echo "no chart for service $svc" >&2; exit 1; }
  say "image cinema/$svc:$TAG"
  docker build --build-arg SERVICE="$svc" -t "cinema/$svc:$TAG" "$ROOT"
  kind load docker-image --name "$CLUSTER" "cinema/$svc:$TAG"
  SETS+=(--set "$svc.image.tag=$TAG")
}
image operator

# The platform operator and one CinemaPlatform: the operator makes the infrastructure custom
# resources (what k8s/infrastructure/ documents), the plain PostgreSQL/Redis workloads and the
# connection Secrets (kept once made), and reports readiness in the platform's status.
say "platform operator and the CinemaPlatform"
sh "$ROOT/charts/build-deps.sh"
OFF=()
for dir in "$ROOT"/services/*/; do
  svc="$(basename "$dir")"
  [[ "$svc" == operator ]] || OFF+=(--set "$svc.enabled=false")
done
helm upgrade --install cinema "$ROOT/charts/cinema" --namespace "$NS" \
  -f "$ROOT/charts/cinema/profiles/dev.yaml" --set platform.create=true --set gateway.enabled=false \
  "${OFF[@]}" "${SETS[@]}" --wait --timeout 10m
for component in kafka clickhouse mongodb elasticsearch rabbitmq jaeger postgresql redis; do
  say "waiting for $component (kubectl -n $NS get cinemaplatform cinema -o yaml: status.components)"
  kubectl -n "$NS" wait cinemaplatform/cinema --timeout=900s \
    --for=jsonpath="{.status.components.$component.ready}"=true
done

if [[ "$INFRA_ONLY" == 1 ]]; then
  say "infrastructure ready; now: skaffold dev   (or: tilt up -f tilt/Tiltfile)"
  exit 0
fi

for dir in "$ROOT"/services/*/; do
  svc="$(basename "$dir")"
  [[ "$svc" == operator ]] || image "$svc"
done

say "umbrella chart"
helm upgrade --install cinema "$ROOT/charts/cinema" --namespace "$NS" \
  -f "$ROOT/charts/cinema/profiles/dev.yaml" --set platform.create=true "${SETS[@]}" --wait --timeout 15m
kubectl -n "$NS" wait cinemaplatform/cinema --for=condition=Ready --timeout=600s
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
