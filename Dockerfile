# syntax=docker/dockerfile:1.7
# One image for the four services and the `dropship` CLI:
#   docker build -t dropship .
#   docker run --rm dropship                          # dropship --help
#   docker run --rm -e DROPSHIP_... dropship dropship serve order-intake
# docker-compose.yml runs it once per service (and once for `dropship migrate`).

# ---------------------------------------------------------------- build stage
FROM ghcr.io/astral-sh/uv:python3.11-bookworm-slim AS build

# Compile bytecode at build time, copy (not hardlink) out of the cache mount, and use
# the image's Python, never a downloaded one (the runtime stage has the same one).
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# 1) Third-party dependencies only, from the workspace lock file: this layer is reused
#    as long as uv.lock and the members' pyproject.toml files do not change.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/pyproject.toml
COPY apps/dropship/pyproject.toml apps/dropship/pyproject.toml
COPY libs/testkit/pyproject.toml libs/testkit/pyproject.toml
COPY services/order-intake/pyproject.toml services/order-intake/pyproject.toml
COPY services/supplier-gateway/pyproject.toml services/supplier-gateway/pyproject.toml
COPY services/logistics/pyproject.toml services/logistics/pyproject.toml
COPY services/aftersales/pyproject.toml services/aftersales/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# 2) The workspace members themselves (sources and each service's migrations/).
#    They are installed editable: the venv points at /app/apps, /app/libs and /app/services, where
#    `dropship migrate` finds services/<name>/migrations.
COPY apps/ apps/
COPY libs/ libs/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# -------------------------------------------------------------- runtime stage
# Same base image as the build stage's Python (the venv's interpreter is
# /usr/local/bin/python3.11 in both), without uv or build caches.
FROM python:3.11-slim-bookworm AS runtime

RUN groupadd --system --gid 10001 dropship \
    && useradd --system --uid 10001 --gid dropship --home-dir /app --shell /usr/sbin/nologin dropship

WORKDIR /app

# Code and venv stay owned by root (read-only for the service user); only data/ (the
# embedded mode's SQLite files, unused in distributed mode) is writable.
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/pyproject.toml /app/uv.lock /app/
COPY --from=build /app/apps /app/apps
COPY --from=build /app/libs /app/libs
COPY --from=build /app/services /app/services
RUN mkdir -p /app/data && chown dropship:dropship /app/data

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER dropship:dropship

# order-intake, supplier-gateway, logistics, aftersales
EXPOSE 8001 8002 8003 8004

CMD ["dropship", "--help"]
