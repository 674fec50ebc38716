"""Containers built by deployments: the record written by a deployment's finalize phase, with encrypted credentials."""
