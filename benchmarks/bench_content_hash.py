"""CPU cost of content_hash (normalise + canonical JSON + sha256) per document: a recorded workflow
export and a minimal chat document (whose model_config gets Dify's server-filled defaults).

    python -m benchmarks.bench_content_hash          # prints microseconds of CPU per call
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from difyctl.snapshots.dsl import content_hash

FIXTURE = Path("/work/shared/fixtures/dify-1.13.2/059-console-export-workflow.json")
CHAT: dict[str, Any] = {
    "app": {"mode": "chat", "name": "c"},
    "kind": "app",
    "version": "0.6.0",
    "model_config": {"pre_prompt": "x", "model": {"name": "m"}},
}


def cpu_us_per_call(doc: dict[str, Any], n: int = 5000) -> float:
    start = time.process_time()
    for _ in range(n):
        content_hash(doc)
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    docs: dict[str, dict[str, Any]] = {"chat": CHAT}
    if FIXTURE.exists():
        docs["workflow"] = yaml.safe_load(json.loads(FIXTURE.read_text())["response"]["json"]["data"])
    for name, doc in docs.items():
        print(f"{name}: {cpu_us_per_call(doc):.1f} us CPU per content_hash")


if __name__ == "__main__":
    main()
