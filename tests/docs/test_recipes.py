"""The CI recipes in docs/recipes/ run for real: their shell scripts, unchanged, in bash, with the
installed `difyctl`, against the emulator. A tiny runner plays the CI system's part (step order,
`if: failure()`, GitLab's after_script); `pip install` lines are skipped (difyctl is installed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "recipes"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (BIN / "difyctl").exists() or not shutil.which("jq"), reason="needs difyctl + jq"
)


@dataclass
class Run:
    failed: bool = False
    ran: list[str] = field(default_factory=list)
    logs: str = ""


@pytest.fixture
def emulator() -> Iterator[Any]:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo")) as emu:
        yield emu


@pytest.fixture
def repo(tmp_path: Path, emulator: Any) -> dict[str, Any]:
    """A git checkout seeded from the running instance, and the environment CI would give it."""
    root = tmp_path / "checkout"
    (root / "dify").mkdir(parents=True)
    shutil.copy(RECIPES / "smoke.schema.json", root / "dify" / "smoke.schema.json")
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "DIFYCTL_CONFIG_DIR": str(tmp_path / "config"),
        "DIFY_BASE_URL": emulator.base_url,
        "DIFY_EMAIL": "admin@example.com",
        "DIFY_PASSWORD": "DemoPass123",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "GITHUB_REF_NAME": "v1.0.0",
        "CI_COMMIT_TAG": "v1.0.0",
    }
    seed = subprocess.run(
        ["bash", "-c", "difyctl snapshot create --all --dir dify/apps --layout flat"],
        cwd=root,
        env={**env, "DIFYCTL_KEYRING": "off"},
        capture_output=True,
        text=True,
    )
    assert seed.returncode == 0, seed.stderr
    return {"root": root, "env": env, "emu": emulator, "tmp": tmp_path}


def plain_env(mapping: dict[str, Any] | None) -> dict[str, str]:
    """`env:` entries without CI expressions (`${{ ... }}` values come from the test instead)."""
    return {k: str(v) for k, v in (mapping or {}).items() if "${{" not in str(v)}


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_github_job(repo: dict[str, Any], job: str, replace: dict[str, str] | None = None) -> Run:
    workflow = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    spec = workflow["jobs"][job]
    env = {**repo["env"], **plain_env(workflow.get("env")), **plain_env(spec.get("env"))}
    run, outcome = Run(), dict[str, str]()
    for step in spec["steps"]:
        script = step.get("run")
        if script is None or script.startswith("pip "):
            continue
        cond = step.get("if", "success()")
        wanted = run.failed if "failure()" in cond else (True if "always()" in cond else not run.failed)
        for ref, value in re.findall(r"steps\.(\w+)\.outcome == '(\w+)'", cond):
            wanted = wanted and outcome.get(ref) == value
        if not wanted:
            continue
        script = (replace or {}).get(step["name"], script)
        res = bash(script, repo["root"], env)
        run.ran.append(step["name"])
        run.logs += f"--- {step['name']} ({res.returncode})\n{res.stdout}{res.stderr}"
        outcome[step.get("id", step["name"])] = "success" if res.returncode == 0 else "failure"
        run.failed = run.failed or res.returncode != 0
    return run


def run_gitlab_job(repo: dict[str, Any], job: str, replace: dict[str, str] | None = None) -> Run:
    pipeline = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    spec = pipeline[job]
    env = {**repo["env"], **plain_env(pipeline.get("variables"))}
    run = Run()
    # the lines of `script:` run in one shell, in order; the first failing one fails the job
    lines = [(replace or {}).get(line, line) for line in spec["script"]]
    res = bash("\n".join(lines), repo["root"], env)
    run.failed = res.returncode != 0
    run.logs += f"--- script ({res.returncode})\n{res.stdout}{res.stderr}"
    for line in spec.get("after_script", []):
        res = bash(line, repo["root"], {**env, "CI_JOB_STATUS": "failed" if run.failed else "success"})
        run.logs += f"--- after_script ({res.returncode})\n{res.stdout}{res.stderr}"
    return run


def live(repo: dict[str, Any], name: str = "echo-workflow") -> str:
    env = {**repo["env"], "DIFYCTL_KEYRING": "off"}
    res = subprocess.run(
        ["difyctl", "export", name], env=env, capture_output=True, text=True, cwd=repo["root"]
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def edit_workflow(repo: dict[str, Any]) -> None:
    path = repo["root"] / "dify" / "apps" / "echo-workflow.yml"
    path.write_text(path.read_text().replace("variable: result", "variable: released"))


# ------------------------------------------------------------------------------- GitHub Actions
def test_github_pr_job_posts_the_plan(repo: dict[str, Any]) -> None:
    unchanged = run_github_job(repo, "plan")
    assert not unchanged.failed, unchanged.logs
    output = Path(repo["env"]["GITHUB_OUTPUT"])
    assert output.read_text().splitlines()[-1] == "changes=false"
    edit_workflow(repo)
    changed = run_github_job(repo, "plan")
    assert not changed.failed, changed.logs
    assert output.read_text().splitlines()[-1] == "changes=true"
    summary = Path(repo["env"]["GITHUB_STEP_SUMMARY"]).read_text()
    assert "## difyctl apply: plan" in summary and '"result" -> "released"' in summary
    assert "variable: released" not in live(repo)  # a plan changes nothing


def test_github_release_job_applies_and_checks(repo: dict[str, Any]) -> None:
    edit_workflow(repo)
    run = run_github_job(repo, "release")
    assert not run.failed, run.logs
    assert run.ran == ["Apply", "Health", "Smoke query"]
    assert "variable: released" in live(repo)
    report = json.loads((repo["root"] / "apply.json").read_text())
    (wf,) = [a for a in report["apps"] if a["app"]["name"] == "echo-workflow"]
    assert wf["status"] == "applied" and wf["pre_rollback"].startswith("pre-apply-")


def test_github_release_rolls_back_when_the_smoke_query_fails(repo: dict[str, Any]) -> None:
    edit_workflow(repo)
    run = run_github_job(repo, "release", replace={"Smoke query": "echo 'smoke: invalid answer' >&2; exit 1"})
    assert run.failed and run.ran == ["Apply", "Health", "Smoke query", "Roll back on failure"], run.logs
    assert "variable: released" not in live(repo) and "variable: result" in live(repo)
    assert "Rolled back" in Path(repo["env"]["GITHUB_STEP_SUMMARY"]).read_text()


# ------------------------------------------------------------------------------------ GitLab CI
def test_gitlab_mr_job_and_release_rollback(repo: dict[str, Any]) -> None:
    edit_workflow(repo)
    plan = run_gitlab_job(repo, "dify-plan")
    assert not plan.failed, plan.logs
    assert "CHANGES=true" in (repo["root"] / "plan.env").read_text()
    assert '"result" -> "released"' in (repo["root"] / "plan.md").read_text()
    pipeline = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    smoke = next(line for line in pipeline["dify-release"]["script"] if "broadcast" in line)
    release = run_gitlab_job(repo, "dify-release", replace={smoke: "exit 1"})
    assert release.failed, release.logs
    assert "variable: result" in live(repo), release.logs  # rolled back by after_script
    assert "Rolled back" in (repo["root"] / "release.md").read_text()
    ok = run_gitlab_job(repo, "dify-release")
    assert not ok.failed, ok.logs
    assert "variable: released" in live(repo)
