"""Running models: precision and device, threads, stopping on signals, benchmarking."""
