"""Deployments: build a container from a template revision on a node (plan, store, run, follow)."""
