"""Identity `broker` with a client ID metadata document, through the MCP Python SDK's own OAuth client.

The SDK's `OAuthClientProvider` is given `client_metadata_url`: when our authorization server
metadata says `client_id_metadata_document_supported: true`, the SDK uses that URL as its
`client_id` instead of registering (DCR), and we fetch the document at /authorize. The document
is served here by a local HTTP server at http://127.0.0.1:<port>/..., which the server under test
admits only with the tests-only setting `oauth.cimd_allow_loopback_http`
(ZMCP_OAUTH_CIMD_ALLOW_LOOPBACK_HTTP=true), as tests/e2e/js/test/broker-cimd.test.mjs does.

The SDK (mcp 2.3.0) insists on an https document URL in `OAuthClientProvider.__init__` (the spec's
rule for real clients); the test checks that refusal and then sets the loopback http URL on the
provider's context, the one place the SDK is helped, mirroring the server's test-only relaxation.
Everything after that (discovery from the 401, the CIMD decision, PKCE, the code exchange,
refresh) is the SDK's own code.

  401 -> discovery -> CIMD (no /register) -> /authorize -> Okta sign-in -> our consent -> code ->
  token -> tools; the CLI lists the client as `cimd`; the SDK refreshes (rotation); RFC 7009
  revocation; then the access token is refused and so is the SDK's refresh, which is left
  needing a new sign-in.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
from conftest import Broker, free_port, run_cli, start_broker
from test_broker import HeadlessBrowser, MemoryStorage

from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

pytestmark = pytest.mark.anyio

CLIENT_NAME = "CIMD E2E (Python SDK)"


@dataclass
class DocumentRequest:
    path: str
    accept: str
    user_agent: str


class DocumentServer:
    """A local HTTP server for client ID metadata documents: `serve(path, document)` publishes a
    JSON document at `path` (with `Cache-Control`) and returns its URL; `requests` records every
    request it got."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[DocumentRequest] = []
        docs = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = urlparse(self.path).path
                docs.requests.append(DocumentRequest(path, self.headers.get("accept", ""), self.headers.get("user-agent", "")))
                status, headers, body = docs.routes.get(path, (404, {"content-type": "text/plain"}, b"not here"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, document: dict, cache_control: str = "public, max-age=300") -> str:
        self.routes[path] = (200, {"content-type": "application/json", "cache-control": cache_control}, json.dumps(document).encode())
        return self.url(path)

    def hits(self, path: str) -> list[DocumentRequest]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def cimd_broker(sandbox):
    """The broker with the tests-only setting that admits http://127.0.0.1:<port>/ documents."""
    with start_broker(sandbox, {"ZMCP_OAUTH_CIMD_ALLOW_LOOPBACK_HTTP": "true"}) as b:
        yield b


@pytest.fixture
def documents():
    server = DocumentServer()
    try:
        yield server
    finally:
        server.close()


@dataclass
class Exchange:
    """One request the SDK's HTTP client sent (the OAuth flow's own included) and its answer."""

    method: str
    url: str
    path: str
    status: int
    form: dict[str, str]
    body: str


def sdk_http(provider: OAuthClientProvider, log: list[Exchange]) -> httpx2.AsyncClient:
    """The SDK's HTTP client with the OAuth provider as its auth (as in test_broker.py), logging
    every request and answer, those of the OAuth flow (discovery, /register, /token) included."""

    async def record(response: httpx2.Response) -> None:
        request = response.request
        form: dict[str, str] = {}
        body = ""
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if request.url.path in ("/token", "/register", "/revoke"):
            body = (await response.aread()).decode(errors="replace")
        log.append(Exchange(request.method, str(request.url), request.url.path, response.status_code, form, body))

    return httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=120), event_hooks={"response": [record]})


class SignInRequired(Exception):
    """The SDK asked the person to sign in (again) when the test did not expect it to."""


def cli_json_lines(broker: Broker, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli(["oauth", *args, "--json"], broker.env).splitlines() if line.strip()]


def mark_expired(provider: OAuthClientProvider) -> None:
    """As if the access token's expires_in had passed: the SDK refreshes before its next request."""
    provider.context.token_expiry_time = time.time() - 1


async def test_python_sdk_oauth_client_with_a_client_id_metadata_document(cimd_broker: Broker, documents: DocumentServer):
    broker = cimd_broker
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    path = "/apps/python-sdk/client.json"
    document_url = documents.url(path)
    documents.serve(
        path,
        {
            "client_id": document_url,
            "client_name": CLIENT_NAME,
            "client_uri": "https://app.example/",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    metadata = OAuthClientMetadata(
        client_name=CLIENT_NAME,
        redirect_uris=[redirect_uri],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    storage = MemoryStorage()
    browser = HeadlessBrowser("alice")
    pages: list[str] = []
    authorization_urls: list[str] = []
    answers: list[dict[str, str]] = []
    sign_in_allowed = True
    log: list[Exchange] = []

    async def keep_our_pages(response: httpx2.Response) -> None:
        url = str(response.request.url)
        if url.startswith(broker.public_url) and response.status_code == 200 and "text/html" in response.headers.get("content-type", ""):
            pages.append((await response.aread()).decode(errors="replace"))

    browser.http.event_hooks["response"].append(keep_our_pages)

    async def redirect_handler(url: str) -> None:
        authorization_urls.append(url)
        if not sign_in_allowed:
            raise SignInRequired(url)
        answers.append(await browser.authorize(url, redirect_uri))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = answers[-1]
        assert "error" not in answer, answer
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    def provider_for(client_metadata_url: str | None) -> OAuthClientProvider:
        return OAuthClientProvider(
            server_url=broker.resource,
            client_metadata=metadata,
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=client_metadata_url,
        )

    # The SDK takes only https document URLs; the loopback http one is set on its context.
    with pytest.raises(ValueError, match="HTTPS"):
        provider_for(document_url)
    provider = provider_for(None)
    provider.context.client_metadata_url = document_url

    try:
        # 1. 401 -> discovery -> CIMD -> sign-in and consent -> tokens -> a tool call.
        async with sdk_http(provider, log) as http:
            async with Client(streamable_http_client(broker.resource, http_client=http), mode="legacy", read_timeout_seconds=60) as client:
                result = await client.call_tool("list_projects", {"format": "json"})
                assert not result.is_error, result.content
                keys = {p["key"] for p in result.structured_content["projects"]}
                assert "DEMO" in keys, keys

        # The SDK found our metadata from the 401 and chose the document over registration.
        assert log[0].path == "/mcp" and log[0].status == 401, log[0]
        assert any(e.path.startswith("/.well-known/oauth-protected-resource") and e.status == 200 for e in log), [e.url for e in log]
        assert any(e.path == "/.well-known/oauth-authorization-server" and e.status == 200 for e in log), [e.url for e in log]
        assert provider.context.oauth_metadata is not None
        assert provider.context.oauth_metadata.client_id_metadata_document_supported is True
        assert not [e for e in log if e.path == "/register"], "no dynamic client registration"
        assert storage.client_info is not None
        assert storage.client_info.client_id == document_url
        assert storage.client_info.token_endpoint_auth_method == "none"

        # Authorization request: the document URL as client_id, PKCE S256, our resource.
        assert len(authorization_urls) == 1, authorization_urls
        asked = urlparse(authorization_urls[0])
        assert f"{asked.scheme}://{asked.netloc}{asked.path}" == f"{broker.public_url}/authorize"
        query = {k: v[0] for k, v in parse_qs(asked.query).items()}
        assert query["client_id"] == document_url
        assert query["redirect_uri"] == redirect_uri
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        assert query["resource"] == broker.resource
        answer = answers[0]
        assert answer["state"] == query["state"]
        assert answer["iss"] == broker.public_url, "iss (RFC 9207) is our issuer"
        assert any(v.startswith(f"GET {broker.issuer}") for v in browser.visited), "signed in at the Okta stand-in"
        assert browser.consent_shown, "a first-time client is shown our consent page"
        consent = next((p for p in pages if 'id="consent-form"' in p), "")
        assert CLIENT_NAME in consent, "the consent page names the client from its document"
        assert 'id="document-host">127.0.0.1<' in consent, "and the document's host"

        # The code exchange: the document URL as client_id, the verifier, no secret.
        exchanges = [e for e in log if e.path == "/token"]
        assert [e.form.get("grant_type") for e in exchanges] == ["authorization_code"], exchanges
        code_exchange = exchanges[0]
        assert code_exchange.status == 200, code_exchange.body
        assert code_exchange.form["client_id"] == document_url
        assert code_exchange.form["code_verifier"] and "client_secret" not in code_exchange.form
        assert code_exchange.form["resource"] == broker.resource
        assert storage.tokens is not None and storage.tokens.refresh_token

        # The server (not the SDK) fetched the document, as JSON.
        fetched = documents.hits(path)
        assert fetched, f"the document was fetched: {documents.requests}"
        assert all(r.user_agent.startswith("zebrunner-mcp/") for r in fetched), fetched
        assert "application/json" in fetched[0].accept, fetched[0]

        # The CLI, on the server's database: the client is a `cimd` one, and nothing was registered.
        clients = cli_json_lines(broker, "clients")
        ours = [c for c in clients if c["client_id"] == document_url]
        assert len(ours) == 1, clients
        assert ours[0]["kind"] == "cimd", ours[0]
        assert ours[0]["name"] == CLIENT_NAME, ours[0]
        assert ours[0]["redirect_uris"] == [redirect_uri], ours[0]
        assert not [c for c in clients if c["kind"] == "dcr"], f"no DCR registration: {clients}"
        grants = [g for g in cli_json_lines(broker, "grants") if g["client_id"] == document_url]
        assert len(grants) == 1 and grants[0]["live"], grants

        # 2. Refresh: the SDK, finding its access token expired, refreshes (rotation) before the call.
        first = storage.tokens
        writes = storage.token_writes
        mark_expired(provider)
        log.clear()
        async with sdk_http(provider, log) as http:
            async with Client(streamable_http_client(broker.resource, http_client=http), mode="legacy", read_timeout_seconds=60) as client:
                again = await client.call_tool("get_test_case", {"key": "DEMO-1", "format": "json"})
                assert not again.is_error, again.content
                assert again.structured_content["test_case"]["key"] == "DEMO-1"
        refreshes = [e for e in log if e.path == "/token"]
        assert [(e.form.get("grant_type"), e.status) for e in refreshes] == [("refresh_token", 200)], refreshes
        assert refreshes[0].form["client_id"] == document_url
        assert refreshes[0].form["refresh_token"] == first.refresh_token
        assert storage.token_writes == writes + 1
        assert storage.tokens.refresh_token and storage.tokens.refresh_token != first.refresh_token, "the refresh token rotated"
        assert storage.tokens.access_token != first.access_token
        assert len(authorization_urls) == 1, "no second sign-in"
        assert not [e for e in log if e.path in ("/register", "/authorize")], [e.url for e in log]
        grants = [g for g in cli_json_lines(broker, "grants") if g["client_id"] == document_url]
        assert len(grants) == 1 and grants[0]["live"] and grants[0]["last_refresh_at"], grants

        # 3. Revocation (RFC 7009) of the refresh token by the document client.
        current = storage.tokens
        async with httpx2.AsyncClient(timeout=15) as raw:
            revoked = await raw.post(
                f"{broker.public_url}/revoke",
                data={"token": current.refresh_token, "token_type_hint": "refresh_token", "client_id": document_url},
            )
            assert revoked.status_code == 200, revoked.text
            grants = [g for g in cli_json_lines(broker, "grants") if g["client_id"] == document_url]
            assert len(grants) == 1 and not grants[0]["live"] and grants[0]["revoked_at"], grants

            # The grant's access token is refused at /mcp.
            refused = await raw.post(
                broker.resource,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"authorization": f"Bearer {current.access_token}", "accept": "application/json, text/event-stream"},
            )
            assert refused.status_code == 401, refused.text
            challenge = refused.headers.get("www-authenticate", "")
            assert "invalid_token" in challenge, challenge

        # And the SDK: its refresh is refused (invalid_grant), so it needs a new sign-in.
        sign_in_allowed = False
        mark_expired(provider)
        log.clear()
        async with sdk_http(provider, log) as http:
            with pytest.raises(SignInRequired):
                await http.post(
                    broker.resource,
                    json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                    headers={"accept": "application/json, text/event-stream"},
                )
        refused_refresh = [e for e in log if e.path == "/token"]
        assert [(e.form.get("grant_type"), e.status) for e in refused_refresh] == [("refresh_token", 400)], refused_refresh
        assert json.loads(refused_refresh[0].body)["error"] == "invalid_grant", refused_refresh[0].body
        assert any(e.path == "/mcp" and e.status == 401 for e in log), [(e.url, e.status) for e in log]
        assert len(authorization_urls) == 2, "the SDK went back to the person"
        assert parse_qs(urlparse(authorization_urls[1]).query)["client_id"] == [document_url], "still the document client"
        assert not [e for e in log if e.path == "/register"], "no registration after revocation either"
        assert not [c for c in cli_json_lines(broker, "clients") if c["kind"] == "dcr"]
    finally:
        await browser.aclose()
