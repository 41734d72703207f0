"""Capacity planning: how many nodes the fleet needs, from its hardened manifests.

`demand` reads the pods each environment asks for, `packing` places them the way the
scheduler's filters allow, `planner` sizes the fleet for each situation, `servers` prices
the layout without Kubernetes. All pure; `verify` checks a plan on a sandbox.
"""
