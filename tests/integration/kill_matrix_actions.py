"""Activities that fail on purpose, for the kill matrix: user code raising inside a run."""


def boom(where: str = "action") -> None:
    raise RuntimeError(f"boom in the {where} (on purpose)")
