//go:build tools

// Package kube pins the Kubernetes tools of the local stack: etcd, kube-apiserver, kubectl and
// helm, built from their published Go modules (see go.mod) by packages/stack/src/kube.ts.
// Nothing here is compiled on its own; the imports only keep the modules in go.mod and go.sum.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "helm.sh/helm/v3/cmd/helm"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
