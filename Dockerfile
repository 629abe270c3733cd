# One Dockerfile, one target per service:
#   docker build --target auth -t ratchet-auth .
#   docker build --target resource -t ratchet-resource .
#   docker build --target web -t ratchet-web .
# Works with the classic builder (no BuildKit-only syntax such as RUN --mount).
# No secret, key or .env file is copied in (see .dockerignore): signing keys are
# generated into Redis on first start, or mounted and named by SIGNING_KEYS_FILE.

ARG NODE_IMAGE=node:20-bookworm-slim

# Stages are in dependency order: the classic builder builds every stage above the
# target, BuildKit only the ones the target needs.

# ---- every workspace's manifest and the lockfile: what `npm ci` needs, nothing else ----
# Manifests first, so the npm ci layers are reused until a lockfile or manifest changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY shared/fastify/package.json shared/fastify/
COPY shared/client/package.json shared/client/
COPY services/auth/package.json services/auth/
COPY services/resource/package.json services/resource/
COPY services/web/package.json services/web/

# ---- build: every dependency (dev included), compile TypeScript to dist/ ----
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY shared/ shared/
COPY services/ services/
# Only the runtime packages: root's tsconfig also references test/, which is not here.
RUN npx tsc -b services/auth services/resource services/web \
 && node services/web/dist/build.js

# ---- per-service files: production dependencies, from the same lockfile, and the compiled service ----
# `npm ci --omit=dev -w <pkg>` installs that workspace's runtime dependencies only
# (the resource image carries no argon2) and links @ratchet/shared into node_modules.
# The npm ci layer comes before the compiled code, so a code change reuses it.
FROM manifests AS files-auth
RUN npm ci --omit=dev --no-audit --no-fund -w @ratchet/auth -w @ratchet/shared -w @ratchet/fastify \
 && npm cache clean --force \
 && node -e "import('argon2').then(() => console.log('argon2 native binding loads'))"
COPY --from=build /app/services/auth/dist services/auth/dist

FROM manifests AS files-resource
RUN npm ci --omit=dev --no-audit --no-fund -w @ratchet/resource -w @ratchet/shared -w @ratchet/fastify \
 && npm cache clean --force
COPY --from=build /app/services/resource/dist services/resource/dist

FROM manifests AS files-web
RUN npm ci --omit=dev --no-audit --no-fund -w @ratchet/web -w @ratchet/shared \
 && npm cache clean --force
COPY --from=build /app/services/web/dist services/web/dist

# ---- common runtime settings ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    HEALTH_PATH=/health/ready
WORKDIR /app
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/shared/fastify/dist shared/fastify/dist
# Files stay owned by root and read-only to the service: it writes nothing to disk.
USER node
# No curl in the slim image: Node's own fetch probes readiness (Redis, NATS, keys).
# The timeout is generous because starting node itself can take seconds on a busy host.
HEALTHCHECK --interval=5s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+process.env.HEALTH_PATH).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The service handles SIGTERM itself (drains HTTP, closes Redis and NATS, exits 0).
# It runs as PID 1 here unless the container is started with --init / `init: true`
# (docker-compose.yml does), which also reaps zombies and forwards signals.
STOPSIGNAL SIGTERM

# ---- the targets: a service's files (manifests, node_modules, dist) on the runtime ----
FROM runtime AS auth
COPY --from=files-auth /app ./
ENV PORT=3001
EXPOSE 3001
CMD ["node", "services/auth/dist/server.js"]

FROM runtime AS resource
COPY --from=files-resource /app ./
ENV PORT=3002
EXPOSE 3002
CMD ["node", "services/resource/dist/server.js"]

# the web app: the built page and the small server that serves it; it has no readiness of its own
FROM runtime AS web
COPY --from=files-web /app ./
ENV PORT=3000 \
    HEALTH_PATH=/health/live
EXPOSE 3000
CMD ["node", "services/web/dist/server.js"]
