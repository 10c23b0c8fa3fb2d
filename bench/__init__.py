"""Benchmarks (ingest, retrieval, generation, embedders); see bench/README.md."""
