# reelflow's image: the worker, the HTTP API and the simulator (one console script, `reelflow`).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY workflows ./workflows
COPY activities ./activities
COPY starter ./starter
COPY simulator ./simulator
RUN pip install .
RUN useradd --create-home reelflow && mkdir -p /data/reelflow /data/simulator \
    && chown -R reelflow /data
USER reelflow
CMD ["reelflow", "worker"]
