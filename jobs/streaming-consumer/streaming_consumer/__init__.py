"""Kafka -> Parquet (+ dead letter) Spark Structured Streaming consumer."""
