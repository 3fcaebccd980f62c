// Stands in for the cluster's Services in a service container's network namespace: listens on
// the loopback address given to each Service name (/etc/hosts) at the chart's port and relays
// to the local stack's server on the host's loopback (10.0.2.2 under slirp4netns with
// allow_host_loopback). Run as the first container of the namespace; argv[2] is a JSON list of
// {listen, port, target, targetPort}.
'use strict';
const net = require('node:net');

const routes = JSON.parse(process.argv[2]);
let open = 0;
for (const r of routes) {
  net
    .createServer((client) => {
      const upstream = net.connect(r.targetPort, r.target);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    })
    .listen(r.port, r.listen, () => {
      open += 1;
      if (open === routes.length) console.log(`forwarding ${routes.length} routes`);
    });
}
process.on('SIGTERM', () => process.exit(0));
