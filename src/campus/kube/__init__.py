"""The Kubernetes API server edge: connecting, applying, reading. Nothing else talks to it."""
