"""The release tests reuse the snapshot tests' documents (echo-workflow v1 with a secret, and v2)."""

from tests.snapshots.conftest import v1, v2  # noqa: F401 - fixtures shared with tests/snapshots
