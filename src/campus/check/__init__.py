"""`campus check`: real requests to an environment's public hosts and probe paths."""
