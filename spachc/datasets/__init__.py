"""Data sets: built-in and folder data, image decoding, transforms and preprocessing."""
