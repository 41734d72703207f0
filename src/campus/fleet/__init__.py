"""The fleet file: schema, loading with positioned errors, and inheritance."""
