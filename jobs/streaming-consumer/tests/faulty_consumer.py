"""Test-only entry point: the real job with faults injected by monkeypatching. Never shipped (the image's build
context excludes tests/, see .dockerignore); the job itself has no switch that makes it fail or kill itself.

    python -m faulty_consumer <job flags>      with TEST_FAULTS (JSON) naming the faults:

  {"kill_before_dead_letter": B}
      SIGKILL the whole process group once batch B is committed in the output sink, before the dead-letter sink
      runs: the crash point between the two sinks.
  {"stall_write": {"sink": "output" | "dead-letter", "batch": B, "partition": P, "seconds": S, "marker": PATH}}
      while batch B is written to that sink, the write task of Kafka partition P touches PATH and waits S seconds;
      the other tasks write their files meanwhile. The test then signals or kills the job mid-write.
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

    original = io.FileSink.add_batch

    def add_batch(self, batch_id, df, **kwargs):
        role = "dead-letter" if "/dead-letter/" in f"{self.path}/" else "output"
        if role == "dead-letter" and faults.get("kill_before_dead_letter") == batch_id:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        stall = faults.get("stall_write")
        if stall and stall["sink"] == role and stall["batch"] == batch_id:
            check = F.udf(_stall(stall["partition"], stall["seconds"], stall["marker"]), BooleanType())
            df = df.where(check(F.col("kafka_partition")))
        return original(self, batch_id, df, **kwargs)

    io.FileSink.add_batch = add_batch
    return job.main()


if __name__ == "__main__":
    sys.exit(main())
