# syntax=docker/dockerfile:1

# Build stage: every dependency and the bundler live only here.
FROM node:24-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci
# Everything the build may read (.dockerignore keeps out what it must not).
COPY . .
# The reference service as one file (build/service/main.js) and the demo page (build/demo).
RUN npm run build:service

# Runtime stage: the bundle, the schema it reads at start, and PGlite, the one
# dependency it loads from node_modules (only when DATABASE_URL is unset).
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/build ./build
COPY --from=build /app/schema ./schema
COPY --from=build /app/node_modules/@electric-sql/pglite ./node_modules/@electric-sql/pglite
# The files stay root-owned and read-only to the process that runs them.
USER node
ENV PORT=4000
# 9464: /metrics, when METRICS_PORT=9464 (as in docker-compose.yml); never published.
EXPOSE 4000 9464
# The image has no curl: Node's own fetch asks /healthz (liveness only; readiness
# is the load balancer's business, through /readyz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A 16 MiB semi-space: a flood's garbage does not grow the young generation (and RSS) to 64 MiB.
# Exec form: node itself receives SIGTERM and drains (no shell in between to swallow it).
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=16", "build/service/main.js"]
