# Build: every dependency, compile, then drop the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# --omit=optional as well: @nestjs/swagger names typescript as an optional peer (for its build
# plugin), which would keep the compiler in the image. No production dependency is optional.
RUN npm run build && npm prune --omit=dev --omit=optional

# Run: production dependencies and compiled code only, owned by root and run by the
# unprivileged node user, so the process cannot rewrite its own code.
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["node", "dist/healthcheck.js"]
# src/server.ts handles SIGTERM itself: clients get 1001 and the process exits 0.
STOPSIGNAL SIGTERM
# A larger young generation, and no pretenuring (V8 allocating straight into the old generation
# at sites whose objects once survived), let a message's objects die young instead of in the old
# generation, whose collections mark the whole heap (docs/benchmarks.md, "Garbage collection").
# The service would add them itself (src/runtime/v8-flags.ts); given here, Node starts once.
CMD ["node", "--max-semi-space-size=32", "--no-allocation-site-pretenuring", "dist/main.js"]
