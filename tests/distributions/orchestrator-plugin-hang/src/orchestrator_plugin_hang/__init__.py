"""Blocks at import, as a plugin that waits on an unreachable server would."""

import time

time.sleep(3600)
