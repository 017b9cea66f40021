"""The local fault proxy: a userspace TCP relay whose faults are set at run time over a control API.

Used where no Chaos Mesh is available (a laptop, CI): each link relays one service's port and applies
delay (with jitter and correlation) to live connections in either direction.
"""

from chaoslib_ext.proxy.client import ProxyClient
from chaoslib_ext.proxy.faults import Delay, Direction, ProxyFault

__all__ = ["Delay", "Direction", "ProxyClient", "ProxyFault"]
