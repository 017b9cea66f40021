"""Network faults: Chaos Mesh vocabulary, applied by the local fault proxy."""
