"""The Locust side of chaoslib-ext: the streaming LLM user, its load shape, and a calibration server.

Locust monkey-patches the interpreter with gevent, so this package only ever runs inside Locust's own
processes (and the calibration server in its own); the chaos process never imports it.
"""

from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CALIBRATION_SERVER = Path(__file__).with_name("calibration_server.py")
