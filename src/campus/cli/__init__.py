"""Command-line interface: parses arguments, calls the core, prints. No logic of its own."""
