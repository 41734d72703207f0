"""Everything campus prints: progress, tables, JSON/YAML. One place, so every command
looks and behaves alike (rich on a terminal, plain lines in CI logs)."""
