"""The built-in law catalog, one module per paper. Names here are part of the public contract."""
