"""How many digests per second reach a local SMTP server, through `bot`'s own delivery path.

1,000 profiles, each with a digest waiting. The same batch is delivered twice in one run: once as
`bot run` does it (claims of [delivery] batch_size, one SMTP connection per claim), and once with
one connection per message (claims of one). The server is aiosmtpd on 127.0.0.1, accepting all.

    python benchmarks/delivery.py [--profiles 1000] [--batch 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.flow.channels import Channels
from bot.flow.deliver import deliver_pending
from bot.flow.settings import Settings
from bot.models import Listing, Profile
from bot.notify import SmtpNotifier
from bot.store import Store
from tests.smtp_server import smtp_server

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def prepare(url: str, n: int) -> Store:
    store = Store(url)
    store.upsert_listings(
        [
            Listing(id=f"l{i}", title=f"Paper {i} on speculative decoding", abstract="An abstract. " * 30)
            for i in range(10)
        ]
    )
    for i in range(n):
        profile = store.add_profile(Profile(name=f"p{i:04d}", keywords=["decoding"], email=f"r{i}@example.org"))
        store.create_digests(
            profile, "2026-11-27", [(f"l{j}", 0.5, ["decoding"]) for j in range(10)], message_id=f"<{i}@bench>", now=NOW
        )
    return store


def run(server_port: int, url: str, n: int, batch: int) -> float:
    store = prepare(url, n)
    notifier = SmtpNotifier(host="127.0.0.1", port=server_port, security="none", attempts=1, backoff=0)
    start = time.perf_counter()
    outcomes = deliver_pending(store, Channels({"email": notifier}), Settings(sender="bot@example.org", batch=batch))
    elapsed = time.perf_counter() - start
    store.close()
    assert sum(1 for o in outcomes if o.receipt) == n, "every digest delivered"
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, smtp_server(Path(tmp), security="none", auth=False) as server:
        batched = run(server.port, f"sqlite:///{tmp}/batched.db", args.profiles, args.batch)
        single = run(server.port, f"sqlite:///{tmp}/single.db", args.profiles, 1)
        assert len(server.handler.received) == 2 * args.profiles
    print(f"{args.profiles:,} digests to a local SMTP server (aiosmtpd on 127.0.0.1)")
    print(f"{'one connection per message (baseline)':<44}{single:>8.1f} digests/s")
    print(f"{f'one connection per batch of {args.batch} (bot run)':<44}{batched:>8.1f} digests/s")


if __name__ == "__main__":
    main()
