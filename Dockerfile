# cloudgate as a sidecar: mount your config at /etc/cloudgate/config.yaml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY backends ./backends
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --uid 10001 cloudgate \
    && mkdir -p /etc/cloudgate && cp config/example.yaml /etc/cloudgate/config.yaml
USER cloudgate
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=2)"
# Inside the container the listener must accept the published port, hence 0.0.0.0 here only.
CMD ["cloudgate", "serve", "--config", "/etc/cloudgate/config.yaml", "--host", "0.0.0.0", "--port", "8787"]
