"""Kafka faults: the broker paused, killed and restarted, throughput throttled, and on a multi-broker
cluster a partition's leader moved or a broker taken down."""
