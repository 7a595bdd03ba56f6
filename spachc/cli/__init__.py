"""The `spachc` command line. Each command lives in its own module; app.py wires them."""
