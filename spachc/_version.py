"""The package version, in a module of its own so the front end can name it without
importing the package root (which imports the front end: a cycle)."""

__version__ = "0.1.0"
