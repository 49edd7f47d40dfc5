# The bot with its embedded defaults: SQLite in /app/data, digests in /app/outbox.
# `bot run` ticks until stopped; docker stop sends SIGTERM, which finishes the message being sent.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir .
COPY config ./config
COPY seeds ./seeds

VOLUME ["/app/data", "/app/outbox"]
STOPSIGNAL SIGTERM
CMD ["bot", "run"]
