"""Item 1 of issue 15: environment problems end as one line + hint + the README's exit code, never as
"unexpected <Python error>"; a file-system error in `snapshot create --all` fails that app only."""

from __future__ import annotations

import errno
import io
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.client.transport import proxy_for, wrap_transport_error
from difyctl.errors import from_unexpected
from tests.cli.conftest import emu_env, invoke


@pytest.fixture(autouse=True)
def _no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def _one_error(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "unexpected" not in err and "Traceback" not in err, err
    return errors[0]


def test_dangling_symlink_dir_is_exit_2_before_any_export(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "snaps-link"
    link.symlink_to(tmp_path / "gone")
    emu.faults.reset()
    code, err = invoke(["snapshot", "create", "--all", "--dir", str(link)], emu_env(emu, tmp_path), capsys)
    assert code == 2
    assert _one_error(err).startswith(f"error: {link} is not a usable folder")
    assert "hint: point --dir at a folder" in err


def test_permission_denied_dir_is_exit_2(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from difyctl.snapshots.store import SnapshotStore

    def refuse(self: SnapshotStore) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self.root))

    monkeypatch.setattr(SnapshotStore, "_ensure_manifest", refuse)  # tests run as root: chmod is moot
    code, err = invoke(["snapshot", "create", "echo-chat"], emu_env(emu, tmp_path), capsys)
    assert code == 2
    assert _one_error(err).startswith("error: permission denied:") and "--dir" in err


def test_full_disk_fails_that_app_only_prints_the_table_and_leaves_no_folder(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import difyctl.snapshots.store as store_module
    from difyctl.fsutil import atomic_write as real

    def full(path: Path, data: bytes, *, mode: int = 0o644) -> None:
        if path.parent.name.startswith("echo-chat-") and path.suffix == ".json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data, mode=mode)

    monkeypatch.setattr(store_module, "atomic_write", full)
    env = emu_env(emu, tmp_path)
    capsys.readouterr()
    from difyctl.cli import run

    code = run(["snapshot", "create", "--all", "--dir", str(tmp_path / "s")], env=env)
    out, err = capsys.readouterr()
    assert code == 3, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "failed" in rows["echo-chat"] and "no space left on the device" in rows["echo-chat"]
    assert all("created" in rows[a] for a in ("echo-workflow", "json-chat", "echo-completion"))
    folders = sorted(
        p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in (tmp_path / "s").iterdir() if p.is_dir()
    )
    assert not any(p.name.startswith("echo-chat-") for p in (tmp_path / "s").iterdir()), folders
    assert "unexpected" not in err and "3 created, 0 unchanged (no duplicate), 1 failed" in err


def test_interrupted_snapshot_all_says_how_many_were_saved(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import difyctl.snapshots.ops as ops

    real = ops._save
    calls: list[str] = []

    def save_then_ctrl_c(store: Any, app: Any, *args: Any) -> Any:
        calls.append(app.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(store, app, *args)

    monkeypatch.setattr(ops, "_save", save_then_ctrl_c)
    monkeypatch.setattr(ops, "SAVE_THREADS", 1)  # saves in order: the count is deterministic
    code, err = invoke(["snapshot", "create", "--all", "-c", "1"], emu_env(emu, tmp_path), capsys)
    assert code == 130
    line = _one_error(err)
    assert line.startswith("error: interrupted: 1 of 4 apps snapshotted into ")
    assert "hint: run the same command again" in err


def test_a_plain_ctrl_c_still_says_interrupted(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import difyctl.run.inputs

    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(difyctl.run.inputs, "parse_inputs", interrupted)
    code, err = invoke(["run", "echo-chat", "hi"], emu_env(emu, tmp_path), capsys)
    assert code == 130 and err == "error: interrupted\n"


def test_keys_set_with_a_refused_key_is_exit_4(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("app-notARealKey0000000000\n"))
    code, err = invoke(["keys", "set", "echo-chat", "--key-stdin"], emu_env(emu, tmp_path), capsys)
    assert code == 4
    assert _one_error(err) == "error: the server refused this key (401): nothing was stored"
    assert "hint: copy the whole app-... key" in err and "difyctl keys list echo-chat" in err
    assert "notARealKey" not in err


def test_missing_socksio_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    env = {"DIFY_BASE_URL": "http://dify.test", "DIFY_API_KEY": "app-x", "DIFYCTL_CONFIG_DIR": str(tmp_path)}
    code, err = invoke(["run", "echo-chat", "hi"], env, capsys)
    import importlib.util

    if importlib.util.find_spec("socksio") is None:
        assert code == 2
        assert "names a SOCKS proxy, which needs the socksio package" in _one_error(err)
        assert "pip install 'httpx[socks]'" in err
    else:  # pragma: no cover - socksio installed: the proxy is simply unreachable
        assert code in (3, 5)


def test_from_unexpected_leaves_other_errors_alone() -> None:
    assert from_unexpected(ImportError("No module named 'yaml'")) is None
    assert from_unexpected(ValueError("x")) is None
    full = from_unexpected(OSError(errno.ENOSPC, "No space left on device", "/snaps/a.yml"))
    assert full is not None and full.exit_code == 1
    assert full.message == "no space left on the device for /snaps/a.yml"


def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def test_a_connect_failure_through_a_proxy_names_the_proxy_not_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_proxy_env(monkeypatch)
    request = httpx.Request("GET", "https://dify.example.com/console/api/apps")
    request.extensions["difyctl.env_proxy"] = True  # set by the client when httpx uses the env proxies
    plain = wrap_transport_error(httpx.ConnectError("refused", request=request))
    assert "proxy" not in plain.message
    monkeypatch.setenv("HTTPS_PROXY", "http://ops:s3cret@proxy.corp:3128")
    assert proxy_for(request.url) == "http://proxy.corp:3128"
    err = wrap_transport_error(httpx.ConnectError("refused", request=request))
    assert err.message.startswith(
        "cannot reach https://dify.example.com through the proxy http://proxy.corp:3128"
    )
    assert "s3cret" not in err.message and err.hint is not None and "NO_PROXY" in err.hint
    assert err.exit_code == 5
    monkeypatch.setenv("NO_PROXY", "dify.example.com")
    assert proxy_for(request.url) is None


def test_an_unreachable_http_proxy_is_named_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port on loopback: refused
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    env = {"DIFY_BASE_URL": "http://dify.test", "DIFY_API_KEY": "app-x", "DIFYCTL_CONFIG_DIR": str(tmp_path)}
    code, err = invoke(["run", "echo-chat", "hi"], env, capsys)
    assert code == 5
    assert _one_error(err).startswith(
        "error: cannot reach http://dify.test through the proxy http://127.0.0.1:9"
    )


def test_status_through_an_unreachable_proxy_hints_at_the_proxy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status` names the proxy in its error; its hint said 'check the base URL and that the server
    is running' (the server was never asked): it now says what the error of any other command says."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port on loopback: refused
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    env = {
        "DIFY_BASE_URL": "http://dify.test",
        "DIFY_CONSOLE_TOKEN": "t",
        "DIFYCTL_CONFIG_DIR": str(tmp_path),
    }
    code, err = invoke(["status"], env, capsys)
    assert code == 5
    assert _one_error(err).startswith("error: cannot reach http://dify.test through the proxy")
    (hint,) = [line for line in err.splitlines() if line.startswith("hint: ")]
    assert "NO_PROXY" in hint and "HTTP_PROXY" in hint and "base URL" not in hint


def test_exit_code_for_maps_server_input_rejections_and_404_to_2() -> None:
    from difyctl.client import errors as e
    from difyctl.errors import DifyctlError, exit_code_for

    def status(cls: type[e.DifyStatusError], code: int, server_code: str) -> e.DifyStatusError:
        return cls("m", status_code=code, code=server_code)

    assert exit_code_for(status(e.BadRequestError, 400, "invalid_param")) == (
        2,
        "the server refused an input: check the --input / --inputs-file values",
    )
    assert exit_code_for(status(e.DifyStatusError, 422, "invalid_param"))[0] == 2
    assert exit_code_for(status(e.BadRequestError, 400, "not_chat_app"))[1] == (
        "the app's mode does not fit; `difyctl apps show APP` shows it"
    )
    code, hint = exit_code_for(status(e.NotFoundError, 404, "not_found"))
    assert code == 2 and hint is not None and "difyctl apps list" in hint
    assert exit_code_for(status(e.BadRequestError, 400, "bad_request"))[0] == 1  # difyctl's own fault
    assert exit_code_for(status(e.AuthenticationError, 401, "unauthorized"))[0] == 4
    assert exit_code_for(e.DifyStreamError("invalid_param", "bad input"))[0] == 2
    assert exit_code_for(e.DifyStreamError("internal_server_error", "boom", 500))[0] == 5
    assert exit_code_for(DifyctlError("x", hint="h")) == (1, "h")


def test_a_proxy_refusing_the_connect_of_an_https_server_with_407_is_authentication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For an https:// server httpx meets the proxy's 407 on its CONNECT and raises ProxyError
    ("407 Proxy Authentication Required", httpcore's wording): the same exit 4 and hint as a 407 to an
    http:// request, never the proxy's password."""
    for name in ("HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://ops:s3cret@proxy.corp:3128")
    request = httpx.Request("GET", "https://dify.example.com/console/api/apps")
    request.extensions["difyctl.env_proxy"] = True
    err = wrap_transport_error(httpx.ProxyError("407 Proxy Authentication Required", request=request))
    assert err.exit_code == 4
    assert err.message == (
        "the proxy http://proxy.corp:3128 refused to connect to https://dify.example.com: "
        "407 Proxy Authentication Required"
    )
    assert err.hint is not None and "USER:PASSWORD@" in err.hint and "s3cret" not in err.message
    other = wrap_transport_error(httpx.ProxyError("502 Bad Gateway", request=request))
    assert other.exit_code == 5 and "through the proxy" in other.message


@pytest.mark.parametrize(
    "password",
    ["pa@ss#w:rd", "p@ss", "pa/ss", "pa?ss", "pa#ss", "s3cret", "x://y@z"],
)
def test_a_proxy_password_with_url_characters_never_shows(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    """Passwords are pasted into HTTPS_PROXY unescaped. With '@' and '#' in one, URL parsing took its
    tail for the host and a fragment: 'cannot reach ... through the proxy http://ss#w:rd@proxy.corp:3128'
    printed part of the password (canary). Only scheme, host and port are shown."""
    _no_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", f"http://ops:{password}@proxy.corp:3128")
    request = httpx.Request("GET", "https://dify.example.com/console/api/apps")
    request.extensions["difyctl.env_proxy"] = True
    shown = proxy_for(request.url)
    assert shown == "http://proxy.corp:3128"
    err = wrap_transport_error(httpx.ConnectError("unknown host", request=request), request)
    for part in {password, *password.replace("#", "@").replace("/", "@").replace("?", "@").split("@")} - {""}:
        if len(part) > 2:
            assert part not in err.message and part not in (err.hint or ""), part


def test_a_retried_proxy_failure_says_how_many_times(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://ops:s3cret@proxy.corp:3128")
    request = httpx.Request("GET", "https://dify.example.com/console/api/apps")
    request.extensions["difyctl.env_proxy"] = True
    err = wrap_transport_error(httpx.ConnectError("refused", request=request), request, attempts=3)
    assert err.message == (
        "cannot reach https://dify.example.com through the proxy http://proxy.corp:3128 after 3 attempts: "
        "connection refused"
    )
    assert "s3cret" not in err.message and "s3cret" not in (err.hint or "")
    once = wrap_transport_error(httpx.ConnectError("refused", request=request), request, attempts=1)
    assert "attempts" not in once.message
