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
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 RISKMAP_ASSETS_DIR=/app/node_modules \
    RISKMAP_SECRET_KEY_FILE=/var/lib/riskmap/secret_key \
    RISKMAP_UPLOAD_DIR=/var/lib/riskmap/uploads RISKMAP_REPORT_DIR=/var/lib/riskmap/reports
WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo ./geo
COPY loaders ./loaders
COPY layers ./layers
COPY webmap ./webmap
COPY --from=assets /assets/node_modules ./node_modules
RUN pip install ".[deploy]" && useradd --system --home /app riskmap \
    && mkdir -p /var/lib/riskmap && chown riskmap /var/lib/riskmap
USER riskmap
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "webmap:create_app()"]
