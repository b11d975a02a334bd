"""spikesim's benchmark suite: workloads W1–W4 of ``shared/workloads.md`` against reference
kernels measured in the same run. Run ``python -m bench.run --help``; see bench/README.md."""
