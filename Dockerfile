# The bridge without Cloudflare: `dtbridge serve` (the production bundle on workerd) with every
# Durable Object's SQLite files in the /data volume, listening on $PORT. compose.yaml puts it behind
# Caddy for HTTPS. Settings come from the environment by the Worker's own names (see the README).
#
# The entry point is the command the tests start (test/e2e/serve.test.ts compares them), from the
# package exactly as `npm pack` makes it.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci && npm pack --ignore-scripts --pack-destination /tmp

FROM node:20-bookworm-slim
COPY --from=build /tmp/dingtalk-fallback-bridge-*.tgz /tmp/
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/dingtalk-fallback-bridge-*.tgz \
  && rm /tmp/dingtalk-fallback-bridge-*.tgz \
  && mkdir /data && chown node:node /data
USER node
ENV PORT=8787 HOST=0.0.0.0 DTBRIDGE_DATA=/data
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# serve stops workerd and itself within 10 s of SIGTERM, Docker's default grace.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/usr/local/lib/node_modules/dingtalk-fallback-bridge/dist/dtbridge.js", "serve"]
