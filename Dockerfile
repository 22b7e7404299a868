# syntax=docker/dockerfile:1

# Build stage: dev dependencies and the TypeScript compiler live only here.
FROM node:24-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci
# Everything the build may read (.dockerignore keeps out what it must not).
COPY . .
RUN npm run build

# Runtime stage: production dependencies, the compiled output and the schema.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# All of dist/ (service, library and the demo page's assets) and the GraphQL schema.
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
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
CMD ["node", "--max-semi-space-size=16", "dist/service/main.js"]
