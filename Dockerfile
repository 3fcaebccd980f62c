# syntax=docker/dockerfile:1
#
# One image per service of the monorepo:
#   docker build --build-arg SERVICE=auth -t cinema/auth:dev .
# skaffold.yaml and tilt/Tiltfile build every service this way; `npm run images` builds all of
# them with podman (docs/images.md). Stages: manifests (only the workspaces' package.json files),
# deps (every workspace's dependencies, shared by all services), build (tsoa + tsc of the one
# service), dev (for Tilt's live update), prod-deps (production dependencies of that one
# service) and runtime, the default target (node slim, non-root, telemetry preloaded before the
# service's code). The dependency stages see only package.json files and the lockfile, so a
# source change reuses their layers and `npm ci` runs again only when dependencies change.

ARG NODE_IMAGE=node:20-bookworm-slim

# The package.json of every workspace, in place, and nothing else of the sources.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY packages ./packages
COPY services ./services
RUN find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM ${NODE_IMAGE} AS deps
# argon2 (auth) publishes no prebuilt binary for linux-x64: node-gyp compiles it in `npm ci`,
# which needs python3, make and g++ (the slim node image has none). The runtime stage keeps
# only the compiled addon.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes the running Node's headers from the image (/usr/local/include/node, part of the
# official release tarball) instead of downloading them from nodejs.org during the build.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /app ./
# A registry behind a TLS-intercepting proxy: its CA bundle comes in as an optional build
# secret (`--secret id=npm-ca,src=<bundle>`), mounted for this step only, never in a layer.
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm-ca,required=false \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm ci --no-audit --no-fund --loglevel=error

FROM deps AS build
COPY tsconfig.base.json tsoa.json ./
COPY scripts ./scripts
COPY packages ./packages
# Every shared package once, before the service is known (one layer for all services): tsoa reads
# imported types (ProblemDetails, ...) from their compiled declarations, as scripts/build.mjs
# compiles them first on a work tree.
RUN for dir in packages/*; do \
      if [ -f "$dir/tsconfig.json" ] && [ -f "$dir/src/index.ts" ]; then echo "$dir"; fi; \
    done | xargs npx tsc -b
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<folder in services/>" >&2; exit 1; }
COPY services ./services
RUN test -f "services/${SERVICE}/package.json" || { echo "no service ${SERVICE}" >&2; exit 1; }
# tsoa only for a service with a tsoa.json (the operator has no HTTP API of its own).
RUN if [ -f "services/${SERVICE}/tsoa.json" ]; then node scripts/tsoa.mjs "services/${SERVICE}"; fi \
 && npx tsc -b "services/${SERVICE}"

# Development image (tilt/Tiltfile): TypeScript and the sources stay, so live update syncs
# sources in and recompiles in place. Not for production.
FROM build AS dev
ARG SERVICE
ENV HOST=0.0.0.0 SERVICE_NAME=${SERVICE} OTEL_SERVICE_NAME=${SERVICE}
RUN chown -R 1000:1000 /app/services /app/packages
WORKDIR /app/services/${SERVICE}
USER 1000:1000
ENTRYPOINT ["node", "--enable-source-maps", "--require", "@cinema/telemetry/register"]
CMD ["dist/main.js"]

# Production dependencies of the one service (workspace links to the shared packages included);
# like the deps stage it sees only the manifests, so it is rebuilt only when they change.
FROM deps AS prod-deps
# typescript stays after --omit=dev as an optional peer of cosmiconfig (mjml, notifications): the
# lockfile marks it devOptional, which npm keeps; nothing loads it at run time. @types/* are
# declarations only (@cinema/auth lists @types/express for its consumers' type-check).
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm-ca,required=false \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm ci --omit=dev --workspace "services/${SERVICE}" --no-audit --no-fund --loglevel=error \
 && find services -mindepth 1 -maxdepth 1 ! -name "${SERVICE}" -exec rm -rf {} + \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver node_modules/@types

# Keep only what the service needs at run time: its own folder and the shared packages, without
# tests and benchmarks.
FROM build AS prune
ARG SERVICE
# A workspace's own node_modules (npm nests a version there on a conflict) comes from prod-deps.
RUN find services -mindepth 1 -maxdepth 1 ! -name "${SERVICE}" -exec rm -rf {} + \
 && find packages services -mindepth 2 -maxdepth 2 -name node_modules -exec rm -rf {} + \
 && rm -rf "services/${SERVICE}/test" "services/${SERVICE}/bench" packages/*/test packages/*/bench \
 && find packages services -name '*.test.ts' -delete

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SERVICE_NAME=${SERVICE} \
    OTEL_SERVICE_NAME=${SERVICE}
WORKDIR /app
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=prod-deps /app/packages ./packages
COPY --from=prod-deps /app/services ./services
COPY --from=prune /app/packages ./packages
COPY --from=prune /app/services ./services
WORKDIR /app/services/${SERVICE}
# The node image's unprivileged user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "const p=process.env.PORT||require('./package.json').cinema.port;fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Telemetry first, outside the application code; the service's main (or `dist/main.js --once`).
ENTRYPOINT ["node", "--enable-source-maps", "--require", "@cinema/telemetry/register"]
CMD ["dist/main.js"]
