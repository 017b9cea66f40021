"""The embedded sandbox: a small real LLM-serving stack on loopback, the default system under test.

Nothing in the experiment flow imports this package: to the flow the sandbox is just a target file.
"""
