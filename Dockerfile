# The scaler's image: `scaler serve` run through tsx, with no build step.
# tsx is a runtime dependency, so `npm ci --omit=dev` keeps it.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY bin/ bin/
COPY proto/ proto/
COPY src/ src/
COPY actors/ actors/
# NOTE: src/cli.ts imports every command's module at start, so a command that
# imports code outside these folders needs that folder copied here too.

USER node
# Scaler service (gRPC). The platform is expected at 127.0.0.1:50051 (--platform).
EXPOSE 9001
# Node.js runs as PID 1; serve handles SIGTERM and SIGINT itself and exits 0 after shutdown.
ENTRYPOINT ["node", "bin/scaler.js"]
CMD ["serve"]
