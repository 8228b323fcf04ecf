"""Shared pieces of the benchmarks in scripts/ (bench_consumer.py, bench_spark.py, bench_transform.py)."""
