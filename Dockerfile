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
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)" || exit 1

CMD ["catalogue", "serve"]
