"""Fixtures for the Python SDK end-to-end tests: the sandbox Zebrunner, a
REST oracle for it, and zebrunner-mcp servers started against it.

Every process is started on an ephemeral port, waited for by its readiness
line (with a time-out) and killed when its fixture ends, failure or not.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
TARGET_DIR = REPO_ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
BINARY = Path(os.environ.get("ZEBRUNNER_MCP_BIN", TARGET_DIR / "debug" / "zebrunner-mcp"))


@dataclass
class Proc:
    popen: subprocess.Popen
    lines: list[str]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start_process(args: list[str], ready, env: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[Proc, object]:
    """Start the binary with `args`; `ready(lines)` returns a truthy value once
    stdout shows the process is ready. Returns (proc, that value)."""
    if not BINARY.exists():
        pytest.fail(f"zebrunner-mcp binary not found at {BINARY}; run cargo build -p zebrunner-mcp")
    popen = subprocess.Popen(
        [str(BINARY), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn"), **(env or {})},
    )
    lines: list[str] = []
    stderr: list[str] = []
    q: queue.Queue[str | None] = queue.Queue()

    def pump_stdout() -> None:
        for line in popen.stdout:  # type: ignore[union-attr]
            q.put(line.rstrip("\r\n"))
        q.put(None)

    def pump_stderr() -> None:
        for line in popen.stderr:  # type: ignore[union-attr]
            stderr.append(line)
            del stderr[:-200]

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    proc = Proc(popen, lines)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not ready within {timeout}s")
            try:
                line = q.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError(f"not ready within {timeout}s") from None
            if line is None:
                raise RuntimeError(f"exited early with code {popen.wait(timeout=5)}")
            lines.append(line)
            value = ready(lines)
            if value:
                return proc, value
    except Exception as err:
        proc.stop()
        raise RuntimeError(f"{args[0]}: {err}\nstdout:\n" + "\n".join(lines) + "\nstderr:\n" + "".join(stderr)) from err


class RestError(Exception):
    def __init__(self, status: int, body: str, url: str):
        super().__init__(f"{url} -> {status}: {body[:300]}")
        self.status = status


@dataclass
class Oracle:
    """Direct REST access to the sandbox as one user (the test oracle)."""

    base_url: str
    login: str
    token: str
    _bearer: str | None = field(default=None, repr=False)

    def request(self, path: str, params: dict | None = None, auth: str = "basic", method: str = "GET", body=None):
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = self.base_url.rstrip("/") + path + (f"?{query}" if query else "")
        headers = {"Accept": "application/json"}
        if auth == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{self.login}:{self.token}".encode()).decode()
        elif auth == "bearer":
            headers["Authorization"] = "Bearer " + self.bearer()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                text = res.read().decode()
        except urllib.error.HTTPError as err:
            raise RestError(err.code, err.read().decode(errors="replace"), url) from None
        return json.loads(text) if text else None

    def bearer(self) -> str:
        if self._bearer is None:
            answer = self.request("/api/iam/v1/auth/refresh", auth="none", method="POST", body={"refreshToken": self.token})
            self._bearer = answer["authToken"]
        return self._bearer

    def page_all(self, path: str, params: dict) -> list[dict]:
        items: list[dict] = []
        token = None
        for _ in range(1000):
            page = self.request(path, {**params, "maxPageSize": 100, "pageToken": token})
            assert len(page["items"]) <= 100
            items.extend(page["items"])
            token = (page.get("_meta") or {}).get("nextPageToken")
            if not token:
                return items
        raise AssertionError(f"{path}: paging never ends")

    def projects(self) -> list[dict]:
        body = self.request("/api/projects/v1/projects", {"extraFields": "starred"}, auth="bearer")
        return body.get("items", body)

    def test_cases(self, project_key: str) -> list[dict]:
        return self.page_all("/api/public/v1/test-cases", {"projectKey": project_key})

    def suites(self, project_key: str) -> list[dict]:
        return self.page_all("/api/public/v1/test-suites", {"projectKey": project_key})

    def case_by_key(self, key: str) -> dict:
        return self.request(f"/api/public/v1/test-cases/key:{key}", {"projectKey": key.split("-")[0]})["data"]

    def items(self, path: str, project_key: str) -> list[dict]:
        body = self.request(path, {"projectKey": project_key})
        return body.get("items", body)


class SuiteTree:
    def __init__(self, suites: list[dict]):
        self.by_id = {s["id"]: s for s in suites}
        self.children: dict[int | None, list[int]] = {}
        for s in suites:
            self.children.setdefault(s.get("parentSuiteId"), []).append(s["id"])

    def path(self, suite_id: int) -> str:
        parts = []
        cur = self.by_id.get(suite_id)
        while cur is not None and len(parts) < 100:
            parts.insert(0, cur.get("title") or cur.get("name"))
            cur = self.by_id.get(cur.get("parentSuiteId"))
        return " > ".join(parts)

    def subtree(self, suite_id: int) -> list[int]:
        out = [suite_id]
        for sid in out:
            out.extend(self.children.get(sid, []))
        return out

    def find(self, path: str) -> int:
        return next(sid for sid in self.by_id if self.path(sid) == path)


@dataclass
class Sandbox:
    url: str
    users: dict[str, dict]


SANDBOX_BANNER = re.compile(r"^sandbox listening on (http://\S+)$")
USER_LINE = re.compile(r"^user (\S+) token (\S+) projects (\S*)$")


@pytest.fixture(scope="session")
def sandbox():
    def ready(lines):
        banner = SANDBOX_BANNER.match(lines[0])
        users = [m for m in (USER_LINE.match(l) for l in lines[1:]) if m]
        return banner and len(users) >= 2 and (banner.group(1), users)

    proc, (url, user_matches) = start_process(["sandbox", "--listen", "127.0.0.1:0"], ready)
    users = {}
    for m in user_matches:
        user = {"login": m.group(1), "token": m.group(2), "projects": m.group(3).split(",")}
        users[m.group(1)] = user
        users[m.group(1).split("@")[0]] = user
    try:
        yield Sandbox(url, users)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def oracle(sandbox):
    alice = sandbox.users["alice"]
    return Oracle(sandbox.url, alice["login"], alice["token"])


def server_env(sandbox: Sandbox, user: str) -> dict[str, str]:
    u = sandbox.users[user]
    return {"ZEBRUNNER_URL": sandbox.url, "ZEBRUNNER_LOGIN": u["login"], "ZEBRUNNER_TOKEN": u["token"]}


@pytest.fixture(scope="session")
def http_server(sandbox):
    proc, url = start_process(
        ["serve", "--transport", "http", "--listen", "127.0.0.1:0"],
        lambda lines: (m := re.match(r"^mcp listening on (http://\S+/mcp)$", lines[-1])) and m.group(1),
        env=server_env(sandbox, "alice"),
    )
    try:
        yield url
    finally:
        proc.stop()


# --- identity `broker`: the server as its own OAuth authorization server -----------------------

JS_DIR = REPO_ROOT / "tests" / "e2e" / "js"
# The same policy as the TypeScript tests (tests/e2e/js/lib/identity.mjs POLICY_TOML).
BROKER_POLICY = """
[policy]
read_scope = "zebrunner:read"
write_scope = "zebrunner:write"
allowed_groups = ["qa", "dev"]
read_only_groups = ["dev"]
admin_groups = ["qa-admins"]
"""


def free_port() -> int:
    """A free loopback TCP port (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    public_url: str
    resource: str
    issuer: str
    okta_origin: str
    # The server's environment (the CLI run with it sees the same database and configuration).
    env: dict[str, str] = field(default_factory=dict)


def start_okta(resource: str, connect_redirects: list[str]) -> tuple[subprocess.Popen, dict]:
    """The Okta stand-in (tests/e2e/js/lib/okta-main.mjs, oidc-provider); it exits when its
    stdin closes, so it never outlives the test process. Returns (process, its JSON line)."""
    node = os.environ.get("NODE") or shutil.which("node")
    if not node:
        pytest.fail("node not found (the Okta stand-in runs on Node; run npm ci in tests/e2e/js)")
    args = [node, str(JS_DIR / "lib" / "okta-main.mjs"), "--resource", resource]
    for uri in connect_redirects:
        args += ["--connect-redirect", uri]
    popen = subprocess.Popen(args, cwd=JS_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    result: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in popen.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                result.put(line)
        result.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        line = result.get(timeout=30)
    except queue.Empty:
        line = None
    if line is None:
        popen.kill()
        pytest.fail(f"the Okta stand-in did not start (exit code {popen.poll()})")
    return popen, json.loads(line)


def stop_popen(popen: subprocess.Popen) -> None:
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)


@contextlib.contextmanager
def start_broker(sandbox: Sandbox, extra_env: dict[str, str] | None = None):
    """zebrunner-mcp with identity `broker` (Zebrunner calls as alice, the service account),
    people signing in at the Okta stand-in as the server's confidential client; `extra_env`
    adds to (or overrides) the server's environment."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    okta, info = start_okta(f"{public_url}/mcp", [f"{public_url}/oauth/callback"])
    with tempfile.TemporaryDirectory(prefix="zmcp-e2e-broker-") as data_dir:
        secret_file = Path(data_dir) / "oidc-client-secret"
        secret_file.write_text(info["connect_client_secret"] + "\n")
        secret_file.chmod(0o600)
        (Path(data_dir) / "data").mkdir()
        config = Path(data_dir) / "config.toml"
        config.write_text(BROKER_POLICY)
        env = {
            **server_env(sandbox, "alice"),
            "ZMCP_TRANSPORT": "http",
            "ZMCP_LISTEN": f"127.0.0.1:{port}",
            "ZMCP_PUBLIC_URL": public_url,
            "ZMCP_IDENTITY": "broker",
            "ZMCP_OIDC_ISSUER": info["issuer"],
            "ZMCP_OIDC_CLIENT_ID": info["connect_client_id"],
            "ZMCP_OIDC_CLIENT_SECRET_FILE": str(secret_file),
            "ZMCP_VAULT_KEYS": "e2e:" + base64.b64encode(bytes([5]) * 32).decode(),
            "ZMCP_DATA_DIR": str(Path(data_dir) / "data"),
            "ZMCP_CONFIG": str(config),
            **(extra_env or {}),
        }
        try:
            proc, _ = start_process(
                ["serve", "--transport", "http", "--listen", f"127.0.0.1:{port}"],
                lambda lines: any(l.startswith("mcp listening on ") for l in lines),
                env=env,
            )
        except BaseException:
            stop_popen(okta)
            raise
        try:
            yield Broker(
                public_url=public_url, resource=f"{public_url}/mcp", issuer=info["issuer"], okta_origin=info["origin"], env=env
            )
        finally:
            proc.stop()
            stop_popen(okta)


@pytest.fixture(scope="module")
def broker(sandbox):
    """zebrunner-mcp with identity `broker` (see start_broker)."""
    with start_broker(sandbox) as b:
        yield b


def run_cli(args: list[str], env: dict[str, str], timeout: float = 30.0) -> str:
    """Run the binary once (a CLI command) with `env` added to ours; returns its stdout, failing on a non-zero exit."""
    done = subprocess.run(
        [str(BINARY), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn"), **env},
    )
    assert done.returncode == 0, f"{' '.join(args)}: exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


@pytest.fixture
def anyio_backend():
    return "asyncio"
