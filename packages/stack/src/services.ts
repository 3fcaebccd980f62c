/** The platform's services: the workspaces under services/ with a `cinema` manifest. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './core';

export interface ServiceManifest {
  name: string;
  dir: string;
  /** Default port; PORT is set from it. */
  port: number;
  /** Node flags the service starts with (`cinema.nodeArgs`), e.g. GC sizing. */
  nodeArgs: string[];
  /** Environment defaults of the service (`cinema.env`), e.g. allocator settings; the caller's
   *  environment wins. */
  env: Record<string, string>;
  /** Path prefixes the gateway routes to this service. */
  routes: string[];
  /** Has an HTTP API described by tsoa (so `/openapi.json` and Swagger UI at `/docs/`). */
  api: boolean;
}

/** Services are the workspaces under services/ with a `cinema` manifest. */
export function discoverServices(root = repoRoot()): ServiceManifest[] {
  const dir = path.join(root, 'services');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((d) => fs.existsSync(path.join(d, 'package.json')))
    .flatMap((d) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) as {
        cinema?: {
          port: number;
          routes?: string[];
          nodeArgs?: string[];
          env?: Record<string, string>;
        };
      };
      if (!pkg.cinema) return [];
      return [
        {
          name: path.basename(d),
          dir: d,
          port: pkg.cinema.port,
          routes: pkg.cinema.routes ?? [],
          nodeArgs: pkg.cinema.nodeArgs ?? [],
          env: pkg.cinema.env ?? {},
          api: fs.existsSync(path.join(d, 'tsoa.json')),
        },
      ];
    })
    .sort((a, b) => a.port - b.port);
}
