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
RUN mkdir -p certs && chown -R node:node certs config
USER node
# Keys and the config (including users.yaml) outlive the container.
VOLUME ["/app/certs", "/app/config"]
EXPOSE 8080
# The embedded default listens on 127.0.0.1; a container must listen on all interfaces.
ENV PAI_SSO_HOST=0.0.0.0
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/pai-sso.js"]
CMD ["serve"]
