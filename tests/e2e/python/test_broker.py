"""Identity `broker` through the MCP Python SDK's own OAuth client.

zebrunner-mcp is its own OAuth 2.1 authorization server: the SDK's
`OAuthClientProvider` gets 401 at /mcp, discovers our metadata (RFC 9728 ->
RFC 8414), registers by DCR as a public client, and sends the person to
/authorize. Here the person is a headless browser (httpx2 with one cookie jar:
cookies are per host, not per port, so the Okta stand-in and the server share
it, as in a browser) that signs in at the stand-in, grants its consent, and
allows the client on our consent page; the SDK then redeems the code (PKCE,
`iss` checked, RFC 9207) and calls tools over Streamable HTTP.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
import pytest
from conftest import Broker, free_port

from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

pytestmark = pytest.mark.anyio


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.token_writes = 0

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.token_writes += 1
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class Form:
    id: str | None
    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    fields: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The forms of a page: action, method, hidden inputs, the names of other inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(id=a.get("id"), action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            if a.get("type", "").lower() == "hidden":
                self._current.hidden[a["name"]] = a.get("value", "")
            else:
                self._current.fields.add(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


class HeadlessBrowser:
    """One person's browser: a cookie jar, redirects followed by hand, forms filled in."""

    def __init__(self, login: str) -> None:
        self.login = login
        self.http = httpx2.AsyncClient(follow_redirects=False, timeout=15)
        self.visited: list[str] = []
        self.consent_shown = False

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, page_url: str, action: str, fields: dict[str, str]) -> httpx2.Response:
        target = urljoin(page_url, action)
        origin = "{0.scheme}://{0.netloc}".format(urlparse(page_url))
        same = origin == "{0.scheme}://{0.netloc}".format(urlparse(target))
        headers = {"origin": origin, "sec-fetch-site": "same-origin" if same else "same-site"}
        self.visited.append(f"POST {target}")
        return await self.http.post(target, data=fields, headers=headers)

    async def authorize(self, url: str, redirect_uri: str) -> dict[str, str]:
        """Follow `url` to the client's `redirect_uri`; returns its query parameters."""
        target = urlparse(redirect_uri)
        self.visited.append(f"GET {url}")
        response = await self.http.get(url)
        current = url
        for _ in range(30):
            if response.is_redirect:
                nxt = urljoin(current, response.headers["location"])
                parsed = urlparse(nxt)
                if (parsed.scheme, parsed.hostname, parsed.path) == (target.scheme, target.hostname, target.path):
                    return {k: v[0] for k, v in parse_qs(parsed.query).items()}
                current = nxt
                self.visited.append(f"GET {current}")
                response = await self.http.get(current)
                continue
            assert response.status_code == 200, f"HTTP {response.status_code} at {current}: {response.text[:500]}"
            forms = forms_of(response.text)
            ours = next((f for f in forms if f.id == "consent-form"), None)
            if ours is not None:
                # Our consent page: Allow (the submit button name=decision value=approve).
                self.consent_shown = True
                assert "csrf" in ours.hidden, "the consent form carries a CSRF token"
                response = await self._post(current, ours.action, {**ours.hidden, "decision": "approve"})
                current = urljoin(current, ours.action)
                continue
            idp = next((f for f in forms if f.method == "post"), None)
            assert idp is not None and "/interaction/" in current, f"an unexpected page at {current}: {response.text[:500]}"
            # The Okta stand-in (oidc-provider devInteractions): its login, then its consent.
            fields = dict(idp.hidden)
            if "login" in idp.fields:
                fields.update(prompt="login", login=self.login, password="any-password")
            else:
                fields.setdefault("prompt", "consent")
            response = await self._post(current, idp.action, fields)
            current = urljoin(current, idp.action)
        raise AssertionError(f"too many steps: {self.visited[-8:]}")


def sdk_http_client(provider: OAuthClientProvider) -> httpx2.AsyncClient:
    """The SDK's HTTP client, with the OAuth provider as its auth, keeping connections alive:
    the server's refusals before reading a body say "Connection: close", so the flow's next
    request never lands on a closing connection (it did, now and then, before they said so)."""
    return httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=120))


async def test_python_sdk_oauth_client_signs_in_through_the_broker_and_calls_tools(broker: Broker):
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    storage = MemoryStorage()
    browser = HeadlessBrowser("alice")
    authorization_urls: list[str] = []
    answers: list[dict[str, str]] = []

    async def redirect_handler(url: str) -> None:
        authorization_urls.append(url)
        answers.append(await browser.authorize(url, redirect_uri))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = answers[-1]
        assert "error" not in answer, answer
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    provider = OAuthClientProvider(
        server_url=broker.resource,
        client_metadata=OAuthClientMetadata(
            client_name="Broker E2E (Python SDK)",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    try:
        async with sdk_http_client(provider) as http:
            async with Client(streamable_http_client(broker.resource, http_client=http), mode="legacy", read_timeout_seconds=60) as client:
                result = await client.call_tool("list_projects", {"format": "json"})
                assert not result.is_error, result.content
                keys = {p["key"] for p in result.structured_content["projects"]}
                assert "DEMO" in keys, keys

        # The SDK registered by DCR, asked for our resource with PKCE S256, and got our tokens.
        assert storage.client_info is not None and storage.client_info.client_id.startswith("dcr_")
        assert len(authorization_urls) == 1, authorization_urls
        asked = urlparse(authorization_urls[0])
        assert f"{asked.scheme}://{asked.netloc}{asked.path}" == f"{broker.public_url}/authorize"
        query = {k: v[0] for k, v in parse_qs(asked.query).items()}
        assert query["code_challenge_method"] == "S256"
        assert query["resource"] == broker.resource
        assert query["client_id"] == storage.client_info.client_id
        answer = answers[0]
        assert answer["state"] == query["state"]
        assert answer["iss"] == broker.public_url, "iss (RFC 9207) is our issuer"
        assert browser.consent_shown, "a first-time client is shown our consent page"
        assert any(v.startswith(f"GET {broker.issuer}") for v in browser.visited), "signed in at Okta"
        assert storage.tokens is not None and storage.tokens.refresh_token

        # A second connection reuses the stored token: no new authorization.
        async with sdk_http_client(provider) as http:
            async with Client(streamable_http_client(broker.resource, http_client=http), mode="legacy", read_timeout_seconds=60) as client:
                again = await client.call_tool("get_test_case", {"key": "DEMO-1", "format": "json"})
                assert not again.is_error, again.content
                assert again.structured_content["test_case"]["key"] == "DEMO-1"
        assert len(authorization_urls) == 1, "no second sign-in"
    finally:
        await browser.aclose()


async def test_refresh_rotates_and_reuse_revokes_the_family(broker: Broker):
    """The refresh grant a Python client sends (form body, public client), against our /token."""
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    async with httpx2.AsyncClient(timeout=15) as http:
        registered = await http.post(
            f"{broker.public_url}/register",
            json={"client_name": "py refresh", "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"},
        )
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["client_id"]
        from mcp.client.auth import PKCEParameters

        pkce = PKCEParameters.generate()
        state = secrets.token_urlsafe(16)
        url = httpx2.URL(
            f"{broker.public_url}/authorize",
            params={
                "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
                "code_challenge": pkce.code_challenge, "code_challenge_method": "S256", "resource": broker.resource,
            },
        )
        browser = HeadlessBrowser("alice")
        try:
            answer = await browser.authorize(str(url), redirect_uri)
        finally:
            await browser.aclose()
        assert answer["state"] == state and answer["iss"] == broker.public_url
        token = await http.post(
            f"{broker.public_url}/token",
            data={"grant_type": "authorization_code", "code": answer["code"], "client_id": client_id,
                  "redirect_uri": redirect_uri, "code_verifier": pkce.code_verifier, "resource": broker.resource},
        )
        assert token.status_code == 200, token.text
        first = token.json()["refresh_token"]

        async def refresh(rt: str) -> httpx2.Response:
            return await http.post(f"{broker.public_url}/token", data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": rt})

        rotated = await refresh(first)
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()["refresh_token"]
        assert second != first
        reused = await refresh(first)
        assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
        after_reuse = await refresh(second)
        assert (after_reuse.status_code, after_reuse.json()["error"]) == (400, "invalid_grant"), "the family is revoked"
