"""The ``chaosllm`` command: one module per subcommand, each a ``register(subparsers)`` and a handler."""
