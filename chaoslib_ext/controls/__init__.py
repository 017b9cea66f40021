"""Chaos Toolkit controls; ``run`` is the one every chaosllm experiment declares."""
