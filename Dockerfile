# The bot with its embedded defaults: SQLite in /app/data, digests in /app/outbox.
# Until the scheduler (`bot run`) exists, the container fetches and sends one round, then exits;
# run it from cron or a systemd timer.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir .
COPY config ./config
COPY seeds ./seeds

VOLUME ["/app/data", "/app/outbox"]
CMD ["sh", "-c", "bot fetch && bot digest"]
