"""`campus upgrade` and `campus promote`: a release change written to the fleet file (as
`scale` writes replicas), checked against what the cluster last ran, then deployed."""
