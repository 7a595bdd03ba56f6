"""Writing files so that nothing is lost: atomic replacement, strict JSON."""
