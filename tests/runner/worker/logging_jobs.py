"""A job entrypoint for the logging test (run in a spawned job process)."""

from __future__ import annotations

import logging

from voicegraph.runner.worker import JobContext

SECRET = "job-process-secret-4711"


async def logs_a_key(ctx: JobContext) -> None:
    logging.getLogger("voicegraph.job").debug("sending xi-api-key: %s", SECRET)
    logging.getLogger("websockets.client").debug("> xi-api-key: %s (library)", SECRET)
    logging.getLogger("voicegraph.job").info("done with Authorization: Bearer %s", SECRET)
