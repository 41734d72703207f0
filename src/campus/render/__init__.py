"""Rendering: each environment through Tutor, in isolation, into Kubernetes objects."""
