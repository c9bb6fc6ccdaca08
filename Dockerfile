# syntax=docker/dockerfile:1

# ---- build: compiles TypeScript and better-sqlite3's native addon, then drops dev dependencies ----
FROM node:24-bookworm-slim AS build
# better-sqlite3 falls back to node-gyp when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: no compiler, no dev dependencies, no sources ----
FROM node:24-bookworm-slim
# The live heap stays small (state lives in the store); without a cap V8 grows it lazily past what the
# service needs. glibc's per-thread malloc arenas (libuv's pool, SQLite) hold on to freed memory; two
# arenas keep about 20 MB of resident memory from lingering after a burst. bench/ uses the same settings.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8" \
    MALLOC_ARENA_MAX=2 \
    HR_SCIM_BRIDGE_CONFIG=/etc/hr-scim-bridge/hr-scim-bridge.yaml
WORKDIR /app
# Owned by root and read-only for the service user: a compromised process cannot rewrite its code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Config files name mappings relative to the working directory (mapping: mappings/generic.yaml).
COPY mappings ./mappings
# Operators run `hr-scim-bridge audit verify` etc. through `docker exec` without knowing the layout.
RUN printf '#!/bin/sh\nexec node /app/dist/cli.js "$@"\n' > /usr/local/bin/hr-scim-bridge \
 && chmod 0755 /usr/local/bin/hr-scim-bridge \
 && mkdir -p /data /etc/hr-scim-bridge \
 && chown node:node /data
# The SQLite database (store.url sqlite:/data/bridge.db) must outlive the container.
VOLUME /data
USER node
EXPOSE 8080
# Liveness only (/livez): readiness depends on the store and secrets, and a container restarted for
# a missing secret would not get better. The slim image has no curl, so node's fetch does the probe.
# Assumes server.port 8080; change it here too when the config uses another port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The service drains HTTP, stops claiming work and releases leases on SIGTERM within 25 s;
# give it 30 s (docker stop -t 30 / stop_grace_period) before SIGKILL.
STOPSIGNAL SIGTERM
# Node is PID 1 and handles SIGTERM itself; it spawns no children, so no init is needed to reap them.
ENTRYPOINT ["node", "dist/cli.js", "serve"]
