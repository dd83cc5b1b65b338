# syntax=docker/dockerfile:1
# RAG service image. The TypeScript sources run directly with tsx (a runtime dependency), so there
# is no build step. One image serves every role:
#   docker run -p 8080:8080 rag-service                              # all-in-one (npm start)
#   docker run rag-service npx tsx services/api/main.ts              # API only
#   docker run rag-service npx tsx services/worker/main.ts           # ingestion worker
#   docker run rag-service npx tsx services/watcher/main.ts          # folder watcher
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    PORT=8080 \
    DATA_DIR=/app/data \
    WATCH_DIRS=/app/docs \
    EMBEDDING_MODEL=use-lite \
    GENERATOR=extractive \
    LOG_LEVEL=info

WORKDIR /app

# OCR of scanned PDF pages: the tesseract command and poppler's pdftoppm are about 1.7x and 10x
# faster here than the tesseract.js and pdf.js that ship in npm, which remain the fallback.
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng poppler-utils \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that source edits do not invalidate this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Sources (see .dockerignore), owned by root and read-only to the service user; only DATA_DIR is writable.
COPY . .
RUN mkdir -p /app/data && chown node:node /app/data

# The node image ships an unprivileged "node" user (uid 1000).
USER node

EXPOSE 8080

# All-in-one: API, worker and watcher in one process, PGlite in DATA_DIR, ./docs watched.
CMD ["npm", "start"]
