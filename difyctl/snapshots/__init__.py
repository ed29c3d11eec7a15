"""Snapshots of app DSL: parsing and normalising (dsl), the semantic diff (diff), the on-disk store (store)
and the results of a change (results; the engine itself is difyctl.change). Nothing here prints or
exits."""

from __future__ import annotations
