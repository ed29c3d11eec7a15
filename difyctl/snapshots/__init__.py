"""Snapshots of app DSL: parsing and normalising (dsl), the semantic diff (diff), the on-disk store (store)
and the rollback engine (rollback). Nothing here prints or exits."""

from __future__ import annotations
