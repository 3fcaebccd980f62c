# syntax=docker/dockerfile:1
#
# One image per service of the monorepo:
#   docker build --build-arg SERVICE=auth -t cinema/auth:dev .
# skaffold.yaml and tilt/Tiltfile build every service this way. Stages: build (all workspaces'
# dependencies, tsoa + tsc of the one service), dev (for Tilt's live update), prune (production
# dependencies of that one service) and runtime, the default target (node slim, non-root,
# telemetry preloaded before the service's code).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<folder in services/>" >&2; exit 1; }
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsoa.json ./
COPY scripts ./scripts
COPY packages ./packages
COPY services ./services
RUN test -f "services/${SERVICE}/package.json" || { echo "no service ${SERVICE}" >&2; exit 1; }
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
RUN node scripts/tsoa.mjs "services/${SERVICE}" && npx tsc -b "services/${SERVICE}"

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

# Keep only what the service needs at run time: its production dependencies (npm ci removes
# every node_modules first), its own folder and the shared packages.
FROM build AS prune
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace "services/${SERVICE}" --no-audit --no-fund --loglevel=error \
 && find services -mindepth 1 -maxdepth 1 ! -name "${SERVICE}" -exec rm -rf {} + \
 && rm -rf "services/${SERVICE}/test" "services/${SERVICE}/bench" packages/*/test

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SERVICE_NAME=${SERVICE} \
    OTEL_SERVICE_NAME=${SERVICE}
WORKDIR /app
COPY --from=prune /app/package.json ./package.json
COPY --from=prune /app/node_modules ./node_modules
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
