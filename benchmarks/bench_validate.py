"""Benchmark: validating a JSONL batch of realistic LLM answers (DESIGN.md budget: >= 10x the naive loop).

    python benchmarks/bench_validate.py [--lines 100000] [--naive-lines 10000] [--seed 7]
                                        [--install-check-jsonschema] [--keep]

Generates (deterministic seed, into a temp dir) JSONL records shaped like `broadcast --jsonl` output whose
`answer` is a mix of clean JSON, fenced JSON, <think> + fence, JSON inside prose, broken JSON (trailing
commas, single quotes, truncation) and wrong answers, then measures, each in its own child process
(so that peak RSS is per approach):

- engine:  difyctl.validation (one compiled validator, the repair ladder, streaming iter_jsonl);
- cli:     `python -m difyctl validate --jsonl --field answer` end to end (stdout to /dev/null);
- naive:   per document `json.loads` + `jsonschema.validate(doc, schema, format_checker=...)` (no repair;
           formats checked as in the engine); run on the first --naive-lines records, as a rate;
- check-jsonschema: the same clean documents as separate files (it reads files, not JSONL, and does not
           repair); used when installed, or installed into a temp dir with --install-check-jsonschema.

Prints a Markdown table: documents, seconds, documents/s, speed-up over naive, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["title", "sentiment", "author", "tags", "published"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "sentiment": {"enum": ["positive", "neutral", "negative"]},
        "published": {"type": "string", "format": "date"},
        "updated_at": {"type": "string", "format": "date-time"},
        "author": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "homepage": {"type": "string", "format": "uri"},
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8, "uniqueItems": True},
        "scores": {
            "type": "object",
            "properties": {
                "relevance": {"type": "number", "minimum": 0, "maximum": 1},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "language": {"enum": ["en", "zh", "ja", "de", "fr"]},
    },
}

WORDS = "dify release workflow agent model latency token prompt vector retrieval chat json schema".split()
MIX = [  # (share, kind)
    (0.55, "clean"),
    (0.12, "fenced"),
    (0.08, "think"),
    (0.07, "prose"),
    (0.08, "broken"),
    (0.05, "wrong"),
    (0.05, "refusal"),
]


def _doc(rng: random.Random, i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": " ".join(rng.choices(WORDS, k=rng.randint(3, 9))).capitalize(),
        "sentiment": rng.choice(["positive", "neutral", "negative"]),
        "published": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "author": {"name": f"Author {i % 997}", "email": f"author{i % 997}@example.com"},
        "tags": rng.sample(WORDS, k=rng.randint(1, 5)),
        "scores": {"relevance": round(rng.random(), 3), "confidence": round(rng.random(), 3)},
        "language": rng.choice(["en", "zh", "ja", "de", "fr"]),
    }
    if rng.random() < 0.5:
        doc["updated_at"] = f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00Z"
    if rng.random() < 0.3:
        doc["author"]["homepage"] = f"https://blog.example.com/{i}"
    return doc


def _answer(rng: random.Random, i: int, kind: str) -> str:
    doc = _doc(rng, i)
    text = json.dumps(doc, ensure_ascii=False, indent=rng.choice([None, 2]))
    if kind == "fenced":
        return f"```json\n{text}\n```"
    if kind == "think":
        thoughts = " ".join(rng.choices(WORDS, k=30))
        return f"<think>The user wants a summary as JSON. {thoughts}</think>\n```json\n{text}\n```"
    if kind == "prose":
        return f"Sure! Here is the summary you asked for:\n\n{text}\n\nLet me know if you need anything else."
    if kind == "broken":
        flavour = rng.choice(["comma", "quotes", "truncated"])
        if flavour == "comma":
            return text[:-1].rstrip() + ",\n}"
        if flavour == "quotes":
            return text.replace('"', "'")
        return text[: int(len(text) * 0.9)]
    if kind == "wrong":
        doc["sentiment"] = "mixed"
        doc["author"]["email"] = "not an email"
        return json.dumps(doc)
    if kind == "refusal":
        return "I'm sorry, but I can't provide that information in JSON format."
    return text


def generate(path: Path, lines: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    kinds = [k for _, k in MIX]
    weights = [w for w, _ in MIX]
    counts: dict[str, int] = dict.fromkeys(kinds, 0)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(lines):
            kind = rng.choices(kinds, weights)[0]
            counts[kind] += 1
            record = {
                "app": f"app-{i % 100:03d}",
                "name": f"App {i % 100}",
                "mode": "chat",
                "ok": True,
                "answer": _answer(rng, i, kind),
                "error": None,
                "latency_ms": rng.randint(200, 4000),
                "tokens": rng.randint(50, 900),
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return counts


# -- the measured runs (each in a child process) ------------------------------------------------------
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(data: Path, schema_path: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from difyctl.validation.engine import Validator, consume, iter_lines
    from difyctl.validation.schema import load_schema

    written = 0

    def write(_: str) -> None:
        nonlocal written
        written += 1

    start = time.perf_counter()
    validator = Validator(load_schema(schema_path))
    with data.open("rb") as fh:
        summary = consume(validator.iter_jsonl(iter_lines(fh), field="answer"), write)
    seconds = time.perf_counter() - start
    return {"docs": summary.total, "seconds": seconds, "rss_mb": _peak_rss_mb(), "counts": summary.counts}


def run_naive(data: Path, schema_path: Path, limit: int) -> dict[str, Any]:
    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    docs = valid = 0
    start = time.perf_counter()
    with data.open("rb") as fh:
        for line in fh:
            if docs >= limit:
                break
            docs += 1
            try:
                doc = json.loads(json.loads(line)["answer"])
                jsonschema.validate(doc, schema, format_checker=checker)
                valid += 1
            except (ValueError, jsonschema.ValidationError):
                pass
    seconds = time.perf_counter() - start
    return {"docs": docs, "seconds": seconds, "rss_mb": _peak_rss_mb(), "valid": valid}


def run_cli(data: Path, schema_path: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "difyctl", "validate", "-s", str(schema_path), str(data), "--jsonl"]
    cmd += ["--field", "answer"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    summary = err.strip().splitlines()[-1] if err.strip() else ""
    return {
        "docs": int(summary.split()[0]) if summary[:1].isdigit() else 0,
        "seconds": seconds,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "summary": summary,
    }


def run_check_jsonschema(
    exe: list[str], env: dict[str, str], data: Path, schema_path: Path, limit: int, tmp: Path
) -> dict[str, Any]:
    files_dir = tmp / "cj-docs"
    files_dir.mkdir(exist_ok=True)
    files: list[str] = []
    with data.open("rb") as fh, (tmp / "strict.jsonl").open("w", encoding="utf-8") as same:
        for line in fh:
            if len(files) >= limit:
                break
            answer = json.loads(line)["answer"]
            try:
                json.loads(answer)
            except ValueError:
                continue  # it cannot repair: only strict JSON documents are comparable
            path = files_dir / f"{len(files):06d}.json"
            path.write_text(answer, encoding="utf-8")
            same.write(json.dumps({"answer": answer}) + "\n")  # the same documents, for the engine
            files.append(str(path))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*exe, "--schemafile", str(schema_path), *files],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    version = subprocess.run([*exe, "--version"], capture_output=True, text=True, env=env).stdout.split()
    return {
        "docs": len(files),
        "seconds": seconds,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "version": version[-1] if version else "?",
    }


def find_check_jsonschema(tmp: Path, install: bool) -> tuple[list[str], dict[str, str]] | str:
    env = dict(os.environ)
    exe = shutil.which("check-jsonschema")
    if exe:
        return [exe], env
    if not install:
        return "not installed (rerun with --install-check-jsonschema to install it into a temp dir)"
    target = tmp / "cj-site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "check-jsonschema"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return f"could not be installed: {proc.stderr.strip().splitlines()[-1:]}"
    env["PYTHONPATH"] = str(target)
    return [sys.executable, "-m", "check_jsonschema"], env


def child(args: argparse.Namespace) -> None:
    data, schema = Path(args.data), Path(args.schema)
    result = run_engine(data, schema) if args.child == "engine" else run_naive(data, schema, args.naive_lines)
    print(json.dumps(result))


def in_child(mode: str, data: Path, schema: Path, naive_lines: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--data",
        str(data),
        "--schema",
        str(schema),
        "--naive-lines",
        str(naive_lines),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--naive-lines", type=int, default=10_000, help="records for the (slow) naive loop")
    parser.add_argument("--cj-lines", type=int, default=20_000, help="documents for check-jsonschema")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--install-check-jsonschema", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    parser.add_argument("--engine-only", action="store_true", help="only the engine row (memory at large N)")
    parser.add_argument("--child", choices=["engine", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    try:
        data, schema = tmp / "answers.jsonl", tmp / "schema.json"
        schema.write_text(json.dumps(SCHEMA, indent=2), encoding="utf-8")
        mix = generate(data, args.lines, args.seed)
        size_mb = data.stat().st_size / 1e6
        naive_lines = min(args.naive_lines, args.lines)
        engine = in_child("engine", data, schema, naive_lines)
        if args.engine_only:
            rate = engine["docs"] / engine["seconds"]
            print(
                f"engine: {engine['docs']:,} docs ({size_mb:.0f} MB) in {engine['seconds']:.1f} s"
                f" = {rate:,.0f} docs/s, peak RSS {engine['rss_mb']:.0f} MB; {engine['counts']}"
            )
            return
        naive = in_child("naive", data, schema, naive_lines)
        cli = run_cli(data, schema)
        found = find_check_jsonschema(tmp, args.install_check_jsonschema)
        cj = (
            None
            if isinstance(found, str)
            else run_check_jsonschema(*found, data, schema, min(args.cj_lines, args.lines), tmp)
        )
        naive_rate = naive["docs"] / naive["seconds"]

        def row(name: str, r: dict[str, Any], note: str) -> str:
            rate = r["docs"] / r["seconds"]
            return (
                f"| {name} | {r['docs']:,} | {r['seconds']:.2f} | {rate:,.0f} | {rate / naive_rate:.1f}x "
                f"| {r['rss_mb']:.0f} | {note} |"
            )

        print(
            f"Input: {args.lines:,} JSONL records ({size_mb:.1f} MB), seed {args.seed}; answer mix: "
            + ", ".join(f"{k} {v:,}" for k, v in mix.items())
        )
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
        print("| approach | docs | seconds | docs/s | vs naive | peak RSS (MB) | notes |")
        print("|---|---:|---:|---:|---:|---:|---|")
        counts = engine["counts"]
        print(
            row(
                "difyctl engine (Validator.iter_jsonl)",
                engine,
                f"repairs on; {counts['parsed']:,} parsed, {counts['repaired']:,} repaired, "
                f"{counts['invalid']:,} invalid",
            )
        )
        print(row("difyctl validate (CLI, end to end)", cli, f"exit {cli['exit']}; includes start-up"))
        print(row("naive jsonschema.validate per doc", naive, "no repair; formats checked; first records"))
        if cj is not None:
            note = f"strict-JSON docs only, one file each; exit {cj['exit']}"
            print(row(f"check-jsonschema {cj['version']} (files)", cj, note))
            same = in_child("engine", tmp / "strict.jsonl", schema, naive_lines)
            print(row("difyctl engine, same docs as check-jsonschema", same, "strict-JSON docs only"))
        else:
            print(f"| check-jsonschema | | | | | | skipped: {found} |")
    finally:
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
