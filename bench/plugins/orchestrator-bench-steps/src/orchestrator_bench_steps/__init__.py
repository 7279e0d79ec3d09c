"""Steps for the benchmark suite: they do (almost) nothing, so what is timed is the engine."""
