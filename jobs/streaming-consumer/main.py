"""spark-submit entry point: `spark-submit .../main.py <flags>` runs the same CLI as `python -m streaming_consumer`."""
import os
import sys

# spark-submit runs this file as a script; the package sits beside it (in the image and in the repo).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from streaming_consumer.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
