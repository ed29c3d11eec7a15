"""Benchmark: `difyctl validate` against the validators teams can pip install, side by side in one run.

    python benchmarks/bench_validate.py [--lines 100000] [--seed 7] [--naive-lines 10000] [--repeat 3]
                                        [--only cli,engine,rust,...] [--install-check-jsonschema]

Corpus (deterministic seed, written to a temp dir): JSONL records shaped like `broadcast --jsonl` output
whose `answer` is 80 % valid JSON, 10 % schema-invalid JSON and 10 % broken JSON (Python literals,
truncated, fenced, trailing comma, prose-wrapped, evenly). Besides the mix, its strictly parseable
lines and its broken lines are also written to files of their own, for the two budgets of issue 14:
strict lines through the CLI >= 0.5x the jsonschema-rs loop, broken lines >= 5,000 docs/s.

Each tool runs in its own child process and is measured by that child's CPU time (user + sys, from
`getrusage`: the machine is shared, wall time is noise) and peak RSS:

- cli:      `python -m difyctl validate --jsonl --field answer` (stdout to /dev/null), start-up included;
- engine:   `Validator.iter_jsonl` in-process, every usable document serialised as the CLI does;
- rust:     loop of `json.loads` + jsonschema-rs `is_valid` (formats asserted);
- fastjsonschema: loop of `json.loads` + the compiled fastjsonschema function;
- compiled: loop of `json.loads` + one `Draft202012Validator(...).is_valid` (formats asserted);
- naive:    loop of `json.loads` + `jsonschema.validate(doc, schema, format_checker=...)` per document,
            on the first --naive-lines records (a rate);
- check-jsonschema: one file per strict document, one invocation (with --install-check-jsonschema).

For each: documents, docs/s by CPU, peak RSS, how many documents it calls valid / invalid among the
strict lines, and how many broken lines it recovers into valid documents.
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
from collections.abc import Callable, Iterator
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
BROKEN = ["python", "truncated", "fenced", "comma", "prose"]
SLOW = {"compiled", "naive", "check-jsonschema"}  # measured in the first round only
TOOLS = ["cli", "engine", "rust", "fastjsonschema", "compiled", "naive", "check-jsonschema"]


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
    if rng.random() < 0.2:
        doc["scores"]["confidence"] = None if rng.random() < 0.5 else doc["scores"]["confidence"]
        if doc["scores"]["confidence"] is None:
            del doc["scores"]["confidence"]
    return doc


def _answer(rng: random.Random, i: int, kind: str) -> str:
    doc = _doc(rng, i)
    text = json.dumps(doc, ensure_ascii=False, indent=rng.choice([None, 2]))
    if kind == "invalid":
        flaw = rng.choice(["enum", "email", "missing", "extra"])
        if flaw == "enum":
            doc["sentiment"] = "mixed"
        elif flaw == "email":
            doc["author"]["email"] = "not an email"
        elif flaw == "missing":
            del doc["tags"]
        else:
            doc["confidence"] = 0.5
        return json.dumps(doc, ensure_ascii=False)
    if kind == "python":
        return repr(doc)  # single quotes, True/False/None
    if kind == "truncated":
        return text[: int(len(text) * rng.uniform(0.5, 0.95))]
    if kind == "fenced":
        thoughts = " ".join(rng.choices(WORDS, k=20))
        head = f"<think>They want JSON. {thoughts}</think>\n" if rng.random() < 0.5 else ""
        return f"{head}```json\n{text}\n```"
    if kind == "comma":
        return text[:-1].rstrip() + ",\n}"
    if kind == "prose":
        return f"Sure! Here is the summary you asked for:\n\n{text[:-1].rstrip()},\n}}\n\nAnything else?"
    return text


def generate(tmp: Path, lines: int, seed: int) -> dict[str, Any]:
    """answers.jsonl (the 80/10/10 mix), strict.jsonl and broken.jsonl (its two parts)."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    files = {
        name: (tmp / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("answers", "strict", "broken")
    }
    try:
        for i in range(lines):
            roll = rng.random()
            kind = "valid" if roll < 0.8 else "invalid" if roll < 0.9 else BROKEN[i % len(BROKEN)]
            counts[kind] = counts.get(kind, 0) + 1
            record = {
                "app": f"app-{i % 100:03d}",
                "mode": "chat",
                "ok": True,
                "answer": _answer(rng, i, kind),
                "latency_ms": rng.randint(200, 4000),
            }
            line = json.dumps(record, ensure_ascii=False) + "\n"
            files["answers"].write(line)
            files["strict" if kind in ("valid", "invalid") else "broken"].write(line)
    finally:
        for fh in files.values():
            fh.close()
    return counts


# -- the measured runs (each in a child process) ------------------------------------------------------
def _cpu_and_rss() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _answers(data: Path, limit: int | None = None) -> Iterator[str]:
    with data.open("rb") as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                return
            yield json.loads(line)["answer"]


def _loop(data: Path, accepts: Callable[[Any], bool], limit: int | None = None) -> dict[str, Any]:
    """A peer: strict json.loads, then the validator; a line it cannot parse is neither valid nor invalid."""
    docs = valid = invalid = 0
    cpu0, _rss = _cpu_and_rss()
    for answer in _answers(data, limit):
        docs += 1
        try:
            doc = json.loads(answer)
        except ValueError:
            continue
        if accepts(doc):
            valid += 1
        else:
            invalid += 1
    cpu, rss = _cpu_and_rss()
    return {"docs": docs, "cpu": cpu - cpu0, "rss_mb": rss, "valid": valid, "invalid": invalid}


def run_rust(data: Path, schema: dict[str, Any], _: int) -> dict[str, Any]:
    import jsonschema_rs

    return _loop(data, jsonschema_rs.validator_for(schema, validate_formats=True).is_valid)


def run_fastjsonschema(data: Path, schema: dict[str, Any], _: int) -> dict[str, Any]:
    import fastjsonschema

    check = fastjsonschema.compile(schema)

    def accepts(doc: Any) -> bool:
        try:
            check(doc)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return _loop(data, accepts)


def run_compiled(data: Path, schema: dict[str, Any], _: int) -> dict[str, Any]:
    import jsonschema  # type: ignore[import-untyped]

    cls = jsonschema.Draft202012Validator
    return _loop(data, cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid)


def run_naive(data: Path, schema: dict[str, Any], limit: int) -> dict[str, Any]:
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER

    def accepts(doc: Any) -> bool:
        try:
            jsonschema.validate(doc, schema, format_checker=checker)
        except jsonschema.ValidationError:
            return False
        return True

    return _loop(data, accepts, limit)


def run_engine(data: Path, schema: dict[str, Any], _: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from difyctl.validation.engine import Validator, consume, iter_lines
    from difyctl.validation.schema import compile_schema

    cpu0, _rss = _cpu_and_rss()
    validator = Validator(compile_schema(schema))
    with data.open("rb") as fh:
        summary = consume(validator.iter_jsonl(iter_lines(fh), field="answer"), lambda _: None)
    cpu, rss = _cpu_and_rss()
    c = summary.counts
    return {
        "docs": summary.total,
        "cpu": cpu - cpu0,
        "rss_mb": rss,
        "counts": c,
        "valid": c["parsed"] + c["repaired"],
        "invalid": c["invalid"],
    }


def run_cli(data: Path, schema_path: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "difyctl", "validate", "-s", str(schema_path), str(data), "--jsonl"]
    cmd += ["--field", "answer", "--report", str(data.with_suffix(".report.json"))]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    report = json.loads(data.with_suffix(".report.json").read_text(encoding="utf-8"))
    c = report["summary"]
    return {
        "docs": c["total"],
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "counts": c,
        "valid": c["parsed"] + c["repaired"],
        "invalid": c["invalid"],
    }


def run_check_jsonschema(tmp: Path, data: Path, schema_path: Path, limit: int) -> dict[str, Any] | str:
    found = _find_check_jsonschema(tmp)
    if isinstance(found, str):
        return found
    exe, env = found
    files_dir = tmp / "cj-docs"
    files_dir.mkdir(exist_ok=True)
    files: list[str] = []
    for answer in _answers(data, limit):
        path = files_dir / f"{len(files):06d}.json"
        path.write_text(answer, encoding="utf-8")
        files.append(str(path))
    out_path = tmp / "cj-out.json"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [*exe, "--schemafile", str(schema_path), "-o", "json", *files],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _, _, usage = os.wait4(proc.pid, 0)
    try:
        errors = {e["filename"] for e in json.loads(out_path.read_text(encoding="utf-8"))["errors"]}
    except (ValueError, KeyError):
        errors = set()
    return {
        "docs": len(files),
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "valid": len(files) - len(errors),
        "invalid": len(errors),
    }


def _find_check_jsonschema(tmp: Path) -> tuple[list[str], dict[str, str]] | str:
    env = dict(os.environ)
    exe = shutil.which("check-jsonschema")
    if exe:
        return [exe], env
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


CHILDREN: dict[str, Callable[[Path, dict[str, Any], int], dict[str, Any]]] = {
    "engine": run_engine,
    "rust": run_rust,
    "fastjsonschema": run_fastjsonschema,
    "compiled": run_compiled,
    "naive": run_naive,
}


def in_child(tool: str, data: Path, schema: Path, naive_lines: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        tool,
        "--data",
        str(data),
        "--schema",
        str(schema),
        "--naive-lines",
        str(naive_lines),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def measure(tool: str, tmp: Path, data: Path, schema: Path, args: argparse.Namespace) -> dict[str, Any] | str:
    if tool == "cli":
        return run_cli(data, schema)
    if tool == "check-jsonschema":
        if not args.install_check_jsonschema and not shutil.which("check-jsonschema"):
            return "skipped (rerun with --install-check-jsonschema)"
        return run_check_jsonschema(tmp, data, schema, min(args.naive_lines, args.lines))
    return in_child(tool, data, schema, args.naive_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--naive-lines", type=int, default=10_000, help="records for the slow naive loop")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=",".join(TOOLS[:-1]), help="comma-separated: " + ",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the fast tools (median reported)")
    parser.add_argument("--install-check-jsonschema", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        schema = json.loads(Path(args.schema).read_text(encoding="utf-8"))
        print(json.dumps(CHILDREN[args.child](Path(args.data), schema, args.naive_lines)))
        return

    tools = [t for t in args.only.split(",") if t]
    tmp = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    try:
        schema = tmp / "schema.json"
        schema.write_text(json.dumps(SCHEMA, indent=2), encoding="utf-8")
        mix = generate(tmp, args.lines, args.seed)
        size_mb = (tmp / "answers.jsonl").stat().st_size / 1e6
        print(
            f"Input: {args.lines:,} records ({size_mb:.1f} MB), seed {args.seed}: "
            + ", ".join(f"{k} {v:,}" for k, v in mix.items())
        )
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}; docs/s by CPU time (user + sys) of the tool's process\n"
        )
        print("| tool | input | docs | CPU s | docs/s | peak RSS (MB) | valid | invalid | broken recovered |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        rates: dict[tuple[str, str], list[float]] = {}
        for part in ("answers", "strict", "broken"):
            runs: dict[str, list[dict[str, Any]]] = {}
            for round_ in range(args.repeat):  # interleaved, so a drift in machine load hits all alike
                for tool in tools:
                    if part != "answers" and tool not in ("cli", "engine", "rust"):
                        continue
                    if round_ and tool in SLOW:
                        continue
                    result = measure(tool, tmp, tmp / f"{part}.jsonl", schema, args)
                    if isinstance(result, str):
                        print(f"| {tool} | {part} | | | | | | | {result} |")
                        continue
                    runs.setdefault(tool, []).append(result)
                    rates.setdefault((tool, part), []).append(result["docs"] / result["cpu"])
            for tool, results in runs.items():
                result = sorted(results, key=lambda r: r["cpu"])[len(results) // 2]  # the median run
                rate = result["docs"] / result["cpu"] if result["cpu"] else 0.0
                recovered = result["valid"] if part == "broken" else ""
                print(
                    f"| {tool} | {part} | {result['docs']:,} | {result['cpu']:.2f} | {rate:,.0f} "
                    f"| {max(r['rss_mb'] for r in results):.0f} | {result['valid']:,} "
                    f"| {result['invalid']:,} | {recovered} |",
                    flush=True,
                )
        pairs = list(zip(rates.get(("cli", "strict"), []), rates.get(("rust", "strict"), []), strict=False))
        if pairs:
            ratios = sorted(c / r for c, r in pairs)
            print(
                "\nstrict lines, CLI / jsonschema-rs loop, per round: "
                + ", ".join(f"{x:.2f}" for x in ratios)
                + f" (median {ratios[len(ratios) // 2]:.2f})"
            )
    finally:
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
