"""Test-only entry point: the real job with faults injected by monkeypatching. Never shipped (the image's build
context excludes tests/, see .dockerignore); the job itself has no switch that makes it fail or kill itself.

    python -m faulty_consumer <job flags>      with TEST_FAULTS (JSON) naming the faults:

  {"kill_before_dead_letter": B}
      SIGKILL the whole process group once batch B is committed in the output sink, before the dead-letter sink
      runs: the crash point between the two sinks.
  {"stall_write": {"sink": "output" | "dead-letter", "batch": B, "partition": P, "seconds": S, "marker": PATH}}
      while batch B is written to that sink, the write task of Kafka partition P touches PATH and waits S seconds;
      the other tasks write their files meanwhile. The test then signals or kills the job mid-write. For the output,
      that is batch B's first write (staged, see io.BatchWriter).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def _stall(partition: int, seconds: float, marker: str):
    def stall(kafka_partition):
        if kafka_partition == partition:
            Path(marker).touch()
            time.sleep(seconds)
        return True

    return stall


def main() -> int:
    faults = json.loads(os.environ.get("TEST_FAULTS", "{}"))
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    from streaming_consumer import io
    from streaming_consumer import main as job

    original_add, original_stage, original_call = io.FileSink.add_batch, io.FileSink.stage, io.BatchWriter.__call__
    running: list[int] = []  # the batch the writer is in (stage, unlike add_batch, is not told)
    stalled: set[tuple[str, int]] = set()

    def role(sink) -> str:
        return "dead-letter" if "/dead-letter/" in f"{sink.path}/" else "output"

    def stalling(sink, batch_id, df):
        stall = faults.get("stall_write")
        if stall and stall["sink"] == role(sink) and stall["batch"] == batch_id and (role(sink), batch_id) not in stalled:
            stalled.add((role(sink), batch_id))
            check = F.udf(_stall(stall["partition"], stall["seconds"], stall["marker"]), BooleanType())
            df = df.where(check(F.col("kafka_partition")))
        return df

    def call(self, batch, batch_id):
        running[:] = [batch_id]
        return original_call(self, batch, batch_id)

    def add_batch(self, batch_id, df, **kwargs):
        if role(self) == "dead-letter" and faults.get("kill_before_dead_letter") == batch_id:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        return original_add(self, batch_id, stalling(self, batch_id, df), **kwargs)

    def stage(self, df, **kwargs):
        return original_stage(self, stalling(self, running[0], df), **kwargs)

    io.BatchWriter.__call__, io.FileSink.add_batch, io.FileSink.stage = call, add_batch, stage
    return job.main()


if __name__ == "__main__":
    sys.exit(main())
