"""The sample district and synthetic data for demos, tests and benchmarks."""
