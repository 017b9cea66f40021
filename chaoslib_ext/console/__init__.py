"""The game day console: a terminal view of a run's control endpoint, every key a request to the run."""
