# syntax=docker/dockerfile:1
# tokengate container image.
#   docker build -t tokengate .
#   docker run --rm -p 8080:8080 -e NODE_ENV=production -e JWT_SECRET=... -e REDIS_URL=redis://redis:6379 tokengate
# Build context: the repository root (.dockerignore keeps node_modules, dist, tests and secrets out).

# 1. build: the full dependency set (TypeScript) compiles src/ into dist/.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would run the build before src/ is copied in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. deps: production dependencies only, from the lock file.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" runs the build, which needs the dev dependencies;
# no production dependency has an install script of its own.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. runtime: node, the production node_modules and dist/, nothing else.
FROM node:24-slim AS runtime
LABEL org.opencontainers.image.title="tokengate" \
      org.opencontainers.image.description="JWT revocation gateway: verifies bearer tokens, enforces a Redis revocation list, proxies or answers forward-auth" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Files stay owned by root: the process (user node) can read them, not change them.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# No curl in the slim image: node asks the liveness route, over TLS when TLS_CERT_FILE is set
# (its own listener; the certificate names the service, not 127.0.0.1, so it is not checked here).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require(process.env.TLS_CERT_FILE?'node:https':'node:http').get({host:'127.0.0.1',port:process.env.PORT||8080,path:'/healthz',rejectUnauthorized:false,timeout:2500},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# node is PID 1 and receives SIGTERM itself: close-with-grace stops accepting,
# drains in-flight requests (SHUTDOWN_GRACE_MS), closes Redis and exits.
# tokengate starts no child processes, so there is nothing for an init to reap.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
