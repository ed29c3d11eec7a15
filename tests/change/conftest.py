"""The change-engine tests reuse the snapshot tests' documents, store and clock."""

from tests.snapshots.conftest import clock, store, v1, v2  # noqa: F401 - shared fixtures
