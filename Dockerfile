# Slim, non-root image: installs exactly what requirements.lock pins, then migrates,
# seeds and serves. Set DATABASE_URL to PostgreSQL in production. The project is
# installed editable so that it finds alembic.ini, migrations/ and seed/ beside it.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system catalogue && useradd --system --gid catalogue --home /app catalogue
WORKDIR /app

COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
RUN pip install --no-deps --editable . && mkdir -p /app/data && chown catalogue:catalogue /app/data

USER catalogue
ENV DATABASE_URL=sqlite:////app/data/catalogue.db \
    SEED_DIR=/app/seed \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2
# The connection edge (app/server.py), stated here so that operators see what they
# override: request heads bounded in size, count and time, idle connections closed,
# connections per worker capped, and no proxy believed until its address is given.
ENV MAX_REQUEST_HEAD_BYTES=16384 \
    MAX_REQUEST_HEADERS=100 \
    REQUEST_HEAD_TIMEOUT_SECONDS=10 \
    KEEP_ALIVE_TIMEOUT_SECONDS=5 \
    MAX_CONNECTIONS=512 \
    FORWARDED_ALLOW_IPS=""
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)" || exit 1

CMD ["catalogue", "serve"]
