# The explorer as a container: one image for the app replicas and for HAProxy in front of them (compose.yaml),
# both started by deploy/replicas.py, the launcher the loopback test runs.
#   docker build -t vae-explorer .                                    # CPU-only PyTorch (default, ~1 GB smaller)
#   docker build -t vae-explorer --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .   # CUDA
#   (any CUDA index of download.pytorch.org that suits the host's driver)
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# HAProxy comes from Debian, like on the loopback deployment; no compiler, no curl.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# PyTorch first from the chosen index, so the requirements below find it installed and pull no CUDA wheels.
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" torch torchvision \
    && pip install --no-cache-dir -r requirements.txt

RUN useradd --create-home --uid 10001 explorer \
    && mkdir -p /data/models && chown explorer:explorer /data/models
# The app, its config (.streamlit/) and the shipped checkpoints (checkpoints/) are part of the image.
COPY --chown=explorer:explorer . .

USER explorer
ENV PYTHONUNBUFFERED=1 \
    VAE_EXPLORER_MODELS=/data/models \
    VAE_EXPLORER_MAX_TRAINING=2
VOLUME /data/models
EXPOSE 8501

# The replica's health, or through HAProxy (same port in the proxy's container) a live replica's.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["python", "-m", "deploy.replicas", "serve", "--port", "8501", "--address", "0.0.0.0"]
