# syntax=docker/dockerfile:1
# dialer-webhooks: the build stage compiles src/ to plain JavaScript (`npm run build`,
# scripts/build.ts: tsc, types removed, `.ts` imports rewritten to `.js`) and the runtime stage runs
# that, so the service never loads Node's TypeScript type stripper (WebAssembly, ~20 MB of RSS).
# The runtime stage has the production dependencies only and no TypeScript sources.
#
# Build:  docker build -t dialer-webhooks:0.1.0 .
# Run:    docker run --rm -e DATABASE_URL=... -e KAFKA_BROKERS=... dialer-webhooks:0.1.0          (the service)
#         docker run --rm -e DATABASE_URL=... dialer-webhooks:0.1.0 migrate                          (one-shot)
#
# The Node version matches the `node` devDependency in package.json (what CI tests with). Keep
# the two in step. To pin the base image by digest as well, pass
# --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs an install script (protobufjs's only checks
# versions), and skipping them keeps the build free of code run from the registry.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# All dependencies (the compiler is a devDependency); none of their install scripts is needed here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN node scripts/build.ts

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="dialer-webhooks" \
      org.opencontainers.image.description="Kafka-native webhook dispatcher for dialer events" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED"

ENV NODE_ENV=production
# One glibc malloc arena for all of Node's threads instead of up to 8 per core: the memory that
# V8's background threads (compilers, concurrent GC) free goes back to the one arena, not left
# in arenas of their own; 12–23 MB less peak RSS under a burst at the same CPU per delivery
# (docs/benchmark.md, "Memory"). The same as package.json's "start" (test/unit/start-flags.test.ts).
ENV MALLOC_ARENA_MAX=1
WORKDIR /app

# A fixed, unprivileged uid/gid (10001) that the Helm chart's securityContext names as well.
RUN groupadd --system --gid 10001 webhooks \
 && useradd --system --uid 10001 --gid webhooks --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin webhooks

# Everything stays owned by root and read-only to the service user: the container runs with a
# read-only root filesystem in Kubernetes; only /tmp is writable (an emptyDir there).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY migrations ./migrations
COPY --from=build /app/dist ./dist

USER 10001:10001
EXPOSE 9464

# Liveness of the metrics/health server, with node itself (the slim image has no curl or wget).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 9464) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The compiled CLI (`run` is the service), with the same V8 heap flags as package.json's "start"
# (test/unit/start-flags.test.ts checks they match; the bench runs the dispatcher with them): new
# space at most 2 × 16 MB, and the old space grown by 2× its live size after a full GC instead of
# V8's own factor (up to 4× under a high allocation rate). Under a burst most of the peak RSS was
# old-space garbage; these bound it at about the same CPU per delivery (docs/benchmark.md, "Memory").
# --expose-gc: once started, and whenever it is idle after a load, the service runs V8's
# memory-reducing collection (src/util/idle-memory.ts), which gives the grown heap back.
ENTRYPOINT ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "--expose-gc", "dist/cli/main.js"]
CMD ["run"]
