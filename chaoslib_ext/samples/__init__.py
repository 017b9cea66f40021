"""Raw samples: the record of every request the load sent, written by the load client and read by
metrics and the live safeguards. ``format`` (the layout and its version), ``writer``, ``reader``
(every version up to this one), ``table`` (columns for metrics), ``host`` (the load host's CPU)."""

from chaoslib_ext.samples.format import FORMAT, REQUEST, VERSION, Sample, check_format
from chaoslib_ext.samples.reader import SampleFile, read_samples, sample_files, to_samples
from chaoslib_ext.samples.writer import SampleWriter

__all__ = [
    "FORMAT",
    "REQUEST",
    "VERSION",
    "Sample",
    "SampleFile",
    "SampleWriter",
    "check_format",
    "read_samples",
    "sample_files",
    "to_samples",
]
