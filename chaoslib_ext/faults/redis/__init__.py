"""Redis faults: admin commands against the server (pause, block, kill, memory, failover) and, through
the network layer, latency, partition and failed calls."""
