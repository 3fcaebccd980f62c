// CoreDNS for the stack's single-node cluster (packages/stack/src/node.ts): only the plugins a
// node's cluster DNS needs, in the order of CoreDNS's own plugin.cfg. Built by node.ts into the
// stack's cache; CoreDNS runs on the host, serving the node's bridge address.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{
		"bind", "ready", "health", "errors", "log", "cache", "kubernetes", "forward",
	}
}

func main() { coremain.Run() }
