"""``broadcaster`` with the Telegram channel's own pacing switched off, for the throughput benchmark.

With pacing on, the client sends at most about 27 messages a second by design
(Telegram's limits), so its raw speed cannot be seen. The channel's limits are
class attributes (its facts); this sets them to "no limit" and runs the real
CLI, unchanged otherwise. Never use it against the real Telegram.

    python bench/unpaced.py --config broadcaster.toml post ...
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broadcaster.channels.telegram import TelegramChannel  # noqa: E402

TelegramChannel.messages_per_second = 1_000_000
TelegramChannel.seconds_per_chat_message = 0.0

from broadcaster.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
