# One image for every Startales process; the command picks which one runs:
#   node gateway/dist/main.js               the gateway (:4000, the default command)
#   node subgraphs/<name>/dist/main.js      a subgraph (identity :4001, campaign :4002, ...)
#   node prisma/migrate-all.mjs             one-shot: create + migrate every service's database
# Build: docker build -t startales-backend .   Configuration comes from env (README, Environment).

# Node 24 LTS: Node 20 is past its end of life. Both are supported (package.json "engines";
# CI tests on both), so `--build-arg NODE_IMAGE=node:20-bookworm-slim` makes a working image too.
ARG NODE_IMAGE=node:24-bookworm-slim

# Only the lockfile and the workspaces' package.json files, so that the dependency layers
# below are reused until dependencies change. Found, not listed: a new subgraph needs no
# edit here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents '{}' /manifests/ ';' \
 && cp package-lock.json /manifests/

# Every dependency, dev included, for the build. No install scripts, as on our dev
# machines (npm 11 skips them): native addons come prebuilt as optional dependencies,
# and Prisma's postinstall would only download native engines we do not use (the CLI and
# the client run on their Wasm engines, prisma/config.ts).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# The same build as everywhere (prisma generate, codegen, tsc -b), then keep only what
# the processes read at run time: package.json files and dist/ of each workspace, the
# subgraphs' schema.graphql and prisma/ (schema + migrations, for the migration job),
# prisma.config.ts files, the shared prisma/ tooling and supergraph.graphql.
FROM deps AS build
COPY . .
RUN npm run build \
 && rm -rf node_modules test scripts .ci codegen.yml eslint.config.mjs jest.config.js \
 && find gateway packages subgraphs -depth -type d \( -name src -o -name node_modules \) -exec rm -rf '{}' + \
 && find . \( -name '*.tsbuildinfo' -o -name 'tsconfig*.json' \) -delete

# Production dependencies only. The Prisma CLI, which the migration job runs, stays:
# the lockfile marks `prisma` devOptional (a root devDependency and an optional peer of
# @prisma/client), and npm leaves out such a package only when dev AND optional are
# omitted. The check fails the build if that ever stops being true.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "for (const m of ['prisma/build/index.js', 'prisma/config', '@prisma/adapter-pg', 'pg']) require.resolve(m)"

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="startales-backend" \
      org.opencontainers.image.description="Startales supergraph: gateway, subgraphs and database migrations"
# HOST: listen on every interface (the services default to loopback for local work).
# PORT is left to each service's default (4000, 4001, ...) or to the orchestrator.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
# The provider's offline engines, so speech and speech-to-text work with no vendor key:
# espeak-ng (text to speech) and pocketsphinx with its US-English model (speech to text).
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng pocketsphinx pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Owned by root and only readable by the service user: the processes cannot change their
# own code (and the orchestrators also mount the root filesystem read-only).
COPY --from=prod-deps /app/ ./
COPY --from=build /app/ ./
# Numeric, so that Kubernetes can verify runAsNonRoot (1000 is the image's `node` user).
USER 1000:1000
EXPOSE 4000 4001 4002
# The gateway's V8 flags (gateway/src/node-flags.ts); other services override the command.
CMD ["node", "--max-semi-space-size=64", "gateway/dist/main.js"]
