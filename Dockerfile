# energyopt service image: FastAPI + planning scheduler, HiGHS from the highspy wheel.
#
#   docker build -t energyopt .
#   docker run -p 8000:8000 -v energyopt-data:/data energyopt
#   docker run -p 8000:8000 -e ENERGYOPT_DATABASE_URL=postgresql+psycopg://user:pw@db:5432/energyopt energyopt
#
# Scenario files and their data live in /app/scenarios (ENERGYOPT_SCENARIOS_DIR);
# the SQLite store (default) lives in the /data volume (ENERGYOPT_DATA_DIR).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY docker/constraints.txt ./docker/constraints.txt
COPY energyopt ./energyopt
COPY api ./api
# every dependency pinned by docker/constraints.txt (pip-compile, `make lock`)
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install --constraint docker/constraints.txt '.[service]'

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENERGYOPT_DATA_DIR=/data \
    ENERGYOPT_SCENARIOS_DIR=/app/scenarios
RUN groupadd --system energyopt \
    && useradd --system --gid energyopt --home-dir /app --shell /usr/sbin/nologin energyopt \
    && mkdir -p /app /data \
    && chown energyopt:energyopt /data
COPY --from=build /opt/venv /opt/venv
COPY --chown=energyopt:energyopt scenarios /app/scenarios
WORKDIR /app
USER energyopt
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
CMD ["energyopt", "serve", "--host", "0.0.0.0", "--port", "8000"]
