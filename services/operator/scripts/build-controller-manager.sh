#!/bin/sh
# Builds kube-controller-manager from the same Go module and version as the stack's
# kube-apiserver (packages/stack/go/kube pins k8s.io/kubernetes), into
#   <stack cache>/kube-controller-manager-v1.37.2/ (STACK_CACHE_DIR, else ~/.cache/cinema-platform)
# where the operator's integration test finds it and runs only its garbage collector.
# Measured 2026-12-01: 1,201 s wall (niced, load 15-26 on 2 cores) with the Go build cache the
# stack's tools had left: 2,441 packages, 357 of them not in etcd/kube-apiserver/kubectl/helm
# (the controllers, volume plugins, ...), plus the link; a 105 MB binary.
set -eu
VERSION=v1.37.2
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
CACHE=${STACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cinema-platform}
OUT="$CACHE/kube-controller-manager-$VERSION"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A copy of the wrapper module: -mod=mod may add the controller-manager's extra modules to go.sum.
cp "$ROOT/packages/stack/go/kube/go.mod" "$ROOT/packages/stack/go/kube/go.sum" \
  "$ROOT/packages/stack/go/kube/tools.go" "$WORK/"
V=k8s.io/component-base/version
mkdir -p "$OUT"
cd "$WORK"
nice -n 10 go build -trimpath -mod=mod \
  -ldflags "-s -w -X $V.gitVersion=$VERSION -X $V.gitMajor=1 -X $V.gitMinor=37 -X $V.gitTreeState=clean" \
  -o "$OUT/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager
mv "$OUT/kube-controller-manager.tmp" "$OUT/kube-controller-manager"
"$OUT/kube-controller-manager" --version
