"""A capacity sweep: an open loop stepped through rising rates until the knee, the highest rate whose
bootstrap bound meets every SLO, is found (spec -> search -> step -> result -> report)."""
