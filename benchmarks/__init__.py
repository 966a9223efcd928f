"""Performance harness: the twin against a naive mosaik build of the same scenario (not tests)."""
