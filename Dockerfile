# syntax=docker/dockerfile:1
# Build stage: full dependency tree; src/ bundled to dist/ by esbuild (scripts/build.mjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and compiled code only, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config/default.yaml config/gateway.example.yaml ./config/
COPY data ./data
# Runs as any non-root UID. The image's own user is `node` (UID 1000); OpenShift and
# Kubernetes with runAsUser start it as an arbitrary UID whose group is 0 (root group,
# no privileges). So the writable folders belong to group 0 with the owner's rights
# (chmod g=u): whatever the UID, the process can write certs/ and var/.
# Volumes mounted over them need the same: a named volume inherits this ownership; a host
# folder or a PVC must be writable by the UID (Kubernetes: securityContext.fsGroup), e.g.
#   chown -R 1000:0 /srv/pai-sso/var && chmod -R g=u /srv/pai-sso/var
RUN mkdir -p certs var && chown -R node:0 certs config var && chmod -R g=u certs config var
# Numeric, so Kubernetes can check runAsNonRoot against the image.
USER 1000:0
# Writable: the signing key, certificate and session secret (certs/); the users file and the
# first admin's password file (var/, the data directory). config/ is read-only config.
ENV PAI_SSO_DATA_DIR=/app/var
VOLUME ["/app/certs", "/app/var"]
EXPOSE 8080
# The embedded default listens on 127.0.0.1; a container must listen on all interfaces.
ENV PAI_SSO_HOST=0.0.0.0
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/pai-sso.js"]
CMD ["serve"]
