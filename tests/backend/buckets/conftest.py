"""Buckets tests run against a copy of the repository's infra/lxc tree in a temp folder (never the repo)."""

from lxc_tree import lxc_tree, settings, writer

__all__ = ["lxc_tree", "settings", "writer"]
