# netns-exporter container image.
#
#   docker build -t netns-exporter --build-arg REVISION=$(git rev-parse --short HEAD) .
#   docker run -d --name netns-exporter --restart unless-stopped \
#     --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
#     -v /var/run/docker/netns:/var/run/docker/netns:ro,rslave \
#     -v /run/netns:/run/netns:ro,rslave \
#     -e NETNS_EXPORTER_PUSHGATEWAY_URL=http://pushgateway.example.internal:9091 \
#     -p 9465:9465 netns-exporter
#
# CAP_SYS_ADMIN is the one capability entering a network namespace needs (setns); nothing else is
# added. `rslave` lets namespaces created after the container started appear in it. Mount your own
# config over /etc/netns-exporter/config.yaml; the default one is packaging/examples/docker-host.yaml.
# See docs/troubleshooting.md for "permission denied" and "no namespaces found".

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: dev dependencies and the TypeScript compiler --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (a build) needs the sources, copied only below;
# no dependency needs its install script for the build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY agent agent
COPY shared shared
RUN npx tsc -p tsconfig.json

# --- runtime: production dependencies, nsenter and ip ------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# iproute2 gives `ip` (the nsenter reader runs `ip -j -s -s addr show` in each namespace),
# util-linux gives `nsenter`, tini reaps the orphans a killed read can leave (a timed-out
# nsenter's children are re-parented to PID 1, which node would never wait for).
RUN apt-get update \
  && apt-get install -y --no-install-recommends iproute2 util-linux tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/netns-exporter
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# koffi (the setns reader's FFI) ships prebuilt binaries for every platform in its package, so no
# install script is needed; all but this platform's are removed (46 MB of node_modules → 22 MB).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force \
  && keep="$(node -p 'process.platform + "_" + process.arch')" \
  && find node_modules/koffi/build/koffi -mindepth 1 -maxdepth 1 -type d ! -name "$keep" -exec rm -rf {} +
COPY --from=build /src/dist/agent dist/agent
COPY --from=build /src/dist/shared dist/shared
COPY packaging/examples /usr/share/doc/netns-exporter/examples
COPY packaging/examples/docker-host.yaml /etc/netns-exporter/config.yaml
RUN node dist/agent/main.js --version \
  && node dist/agent/main.js --check-config --config /etc/netns-exporter/config.yaml
ARG REVISION=""
ENV NETNS_EXPORTER_REVISION=${REVISION}
# The api_server port of docker-host.yaml (/metrics and /healthz).
EXPOSE 9465
# node flags as in the shebang of dist/agent/main.js (a small young generation keeps peak RSS down).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=2", "--v8-pool-size=1", "/opt/netns-exporter/dist/agent/main.js"]
CMD ["--config", "/etc/netns-exporter/config.yaml"]
