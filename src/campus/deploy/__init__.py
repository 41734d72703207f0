"""The deploy engine: ordered, health-gated apply of rendered environments, with history."""
