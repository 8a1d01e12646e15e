# The IDI Risk Map service, for docker-compose.yml (the database is the postgis/postgis image).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
# reports: WeasyPrint lays out PDFs with Pango, and their Chinese is set in Noto Sans CJK
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 && rm -rf /var/lib/apt/lists/*
# the gunicorn workers and the job worker share the secret key (made on first start), the
# uploads waiting for their import and the reports in the making, in the `instance` volume
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    RISKMAP_SECRET_KEY_FILE=/var/lib/riskmap/secret_key \
    RISKMAP_UPLOAD_DIR=/var/lib/riskmap/uploads RISKMAP_REPORT_DIR=/var/lib/riskmap/reports \
    RISKMAP_HOST=0.0.0.0 RISKMAP_PORT=8000
WORKDIR /src
# exactly the locked versions and files (refresh the lock with `bash scripts/lock.sh`)
COPY requirements.lock scripts/pip.lock ./
RUN pip install --require-hashes --only-binary :all: -r pip.lock \
 && pip install --require-hashes --only-binary :all: -r requirements.lock
COPY pyproject.toml setup.py README.md ./
COPY geo ./geo
COPY loaders ./loaders
COPY layers ./layers
COPY webmap ./webmap
# the build copies the pages' web assets from node_modules into the package
COPY --from=assets /assets/node_modules ./node_modules
RUN pip install --no-deps --no-build-isolation . \
    && useradd --system --create-home --home-dir /var/lib/riskmap riskmap \
    && cd / && rm -rf /src
USER riskmap
WORKDIR /var/lib/riskmap
EXPOSE 8000
CMD ["gunicorn", "-c", "python:webmap.gunicorn_conf", "webmap:create_app()"]
