"""One view of the fleet: what runs where, what is healthy, and what is wrong."""
