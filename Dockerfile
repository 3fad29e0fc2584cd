# syntax=docker/dockerfile:1
#
# One image for every Conveyor app. Stages:
#   deps      production dependencies only (`npm ci --omit=dev`): the apps run their TypeScript
#             through tsx, which each app lists as a regular dependency; root devDependencies
#             (typescript, turbo, vitest) are build- and test-only.
#   runtime   node_modules + the apps' sources, run as the unprivileged `node` user.
#   producer, worker, dashboard
#             the runtime with that app's working directory and command; docker-compose.yml
#             picks one with `build.target`. `docker build --target worker -t conveyor-worker .`
#             builds one by hand.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Only the manifests, so this layer is rebuilt only when dependencies change. npm ci needs
# every workspace's package.json, e2e's and bench's included, to match the lockfile.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY producer/package.json producer/
COPY worker/package.json worker/
COPY dashboard/package.json dashboard/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# node_modules at the root and any a workspace nests; owned by root, so read-only to the app.
COPY --from=deps /app ./
COPY tsconfig.base.json ./
COPY shared ./shared
COPY producer ./producer
COPY worker ./worker
COPY dashboard ./dashboard
USER node

FROM runtime AS producer
WORKDIR /app/producer
ENV PORT=3000
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main.ts"]

FROM runtime AS worker
WORKDIR /app/worker
# The worker's health endpoint.
ENV PORT=3002
EXPOSE 3002
CMD ["node", "--import", "tsx", "src/main.ts"]

FROM runtime AS dashboard
WORKDIR /app/dashboard
ENV PORT=3001
EXPOSE 3001
CMD ["node", "--import", "tsx", "src/main.ts"]
