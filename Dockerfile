# Slim, non-root image: installs exactly what the lock files pin (requirements-build.lock
# for the build backend, requirements.lock for the service), then migrates, seeds and
# serves. Set DATABASE_URL to PostgreSQL in production. The project is installed
# editable so that it finds alembic.ini, migrations/ and seed/ beside it.
FROM python:3.11.13-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A numeric user and group, so that the host and orchestrators can tell it is not root.
RUN groupadd --system --gid 10001 catalogue \
    && useradd --system --uid 10001 --gid 10001 --home /app catalogue
WORKDIR /app

COPY requirements-build.lock requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-build.lock \
    && pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
# No build isolation: the build backend is the setuptools just installed from its lock.
RUN pip install --no-cache-dir --no-deps --no-build-isolation --editable . \
    && mkdir -p /app/data /app/metrics \
    && chown 10001:10001 /app/data /app/metrics

USER 10001:10001
ENV DATABASE_URL=sqlite:////app/data/catalogue.db \
    SEED_DIR=/app/seed \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/app/metrics
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

# Exec form: `catalogue healthcheck` asks /healthz on the PORT the server was given.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["catalogue", "healthcheck"]

CMD ["catalogue", "serve"]
