#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/<name>.

Seeds are small, meaningful inputs in each target's input format (see the comment at the top
of each fuzz_targets/*.rs): token shapes Okta issues and the ways they go wrong, the key sets
an issuer publishes, RQL filters from the sandbox's tests, cursors as the server makes them,
JSON-RPC requests as the e2e tests send them, and configuration files from docs/. Committed so
that a run starts from them; re-run this script only to change them (it needs the Python
`cryptography` package to sign with the identity crate's test keys).

    python3 fuzz/make_seeds.py
"""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import shutil

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
KEYS = ROOT / "crates/zebrunner-identity/tests/keys"
CORPUS = FUZZ / "corpus"

# As in fuzz/src/lib.rs.
ISSUER = "https://issuer.example.test/oauth2/default"
AUDIENCE = "api://zebrunner-mcp"
CLIENT_ID = "web-app"
NONCE = "n-0S6_WzA2Mj"
SERVICE_CLIENT = "ci-bot"
CURSOR_KEY = b"zebrunner-mcp-fuzz-cursor-key-01"
IAT = 1_700_000_000  # 2023-11-14
EXP = 4_102_444_800  # 2100-01-01: the seeds stay valid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def write(target: str, name: str, data: bytes) -> None:
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def load(name: str):
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


RSA_A, RSA_B, EC_KEY, ED_KEY = (
    load("rsa-a.pem"),
    load("rsa-b.pem"),
    load("ec-p256.pem"),
    load("ed25519.pem"),
)


def int_b64(n: int, length: int | None = None) -> str:
    length = length or (n.bit_length() + 7) // 8
    return b64(n.to_bytes(length, "big"))


def jwk(kid: str, key, alg: str | None):
    pub = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = pub.public_numbers()
        out = {"kty": "RSA", "n": int_b64(numbers.n), "e": int_b64(numbers.e)}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = pub.public_numbers()
        out = {"kty": "EC", "crv": "P-256", "x": int_b64(numbers.x, 32), "y": int_b64(numbers.y, 32)}
    else:
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        out = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
    out.update({"kid": kid, "use": "sig"})
    if alg:
        out["alg"] = alg
    return out


def sign(message: bytes, key, alg: str) -> bytes:
    if alg == "RS256":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(message)


def token(header, claims, key, alg) -> str:
    message = f"{b64(compact(header))}.{b64(compact(claims))}"
    return f"{message}.{b64(sign(message.encode(), key, alg))}"


def okta_claims(**changes):
    claims = {
        "ver": 1, "jti": "AT.seed", "iss": ISSUER, "aud": AUDIENCE,
        "iat": IAT, "exp": EXP, "auth_time": IAT - 60,
        "cid": CLIENT_ID, "uid": "00u1jane", "sub": "jane.doe@acme.com",
        "scp": ["zebrunner:read", "openid"], "groups": ["qa", "Everyone"],
        "name": "Jane Doe",
    }
    for k, v in changes.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return claims


def jwt_seeds():
    signers = {"1": ("ed25519", "EdDSA"), "2": ("ec-p256", "ES256"),
               "3": ("rsa-a", "RS256"), "4": ("rsa-b", "PS256")}
    for mode, (kid, alg) in signers.items():
        header = {"alg": alg, "kid": kid, "typ": "JWT"}
        write("jwt", f"okta-access-{alg}", mode.encode() + compact(header) + b"\n" + compact(okta_claims()))
    ed = lambda **h: compact({"alg": "EdDSA", "kid": "ed25519", **h})  # noqa: E731
    cases = {
        "at+jwt": (ed(typ="at+jwt"), okta_claims()),
        "no-typ-scope-string": (ed(), okta_claims(scp=None, scope="zebrunner:read zebrunner:write")),
        "groups-string": (ed(), okta_claims(groups="qa")),
        "aud-array": (ed(), okta_claims(aud=["other", AUDIENCE])),
        "service-client": (ed(), okta_claims(uid=None, sub=SERVICE_CLIENT, cid=SERVICE_CLIENT, groups=None)),
        "unknown-service-client": (ed(), okta_claims(uid=None, sub="robot", cid="robot")),
        "expired": (ed(), okta_claims(exp=IAT + 60)),
        "not-yet-valid": (ed(), okta_claims(nbf=EXP)),
        "issued-in-future": (ed(), okta_claims(iat=EXP)),
        "wrong-issuer": (ed(), okta_claims(iss="https://evil.example/oauth2/default")),
        "wrong-audience": (ed(), okta_claims(aud="api://other")),
        "no-sub": (ed(), okta_claims(sub=None)),
        "exp-float": (ed(), okta_claims(exp=4102444800.5)),
        "exp-string": (ed(), okta_claims(exp="4102444800")),
        "id-token": (ed(), {"iss": ISSUER, "aud": CLIENT_ID, "sub": "00u1jane", "iat": IAT, "exp": EXP,
                            "nonce": NONCE, "email": "jane.doe@acme.com", "name": "Jane Doe",
                            "preferred_username": "jane.doe@acme.com"}),
        "id-token-azp": (ed(), {"iss": ISSUER, "aud": [CLIENT_ID, "other"], "azp": CLIENT_ID,
                                "sub": "00u1jane", "iat": IAT, "exp": EXP, "nonce": NONCE}),
        "id-jag": (ed(typ="oauth-id-jag+jwt"),
                   {"iss": ISSUER, "aud": ISSUER, "client_id": CLIENT_ID, "jti": "jag-1",
                    "resource": "https://mcp.example.test/mcp", "sub": "00u1jane", "uid": "00u1jane",
                    "scope": "zebrunner:read", "iat": IAT, "exp": EXP}),
        "header-crit": (ed(crit=["exp"]), okta_claims()),
        "header-jku": (ed(jku="https://evil.example/keys"), okta_claims()),
        "header-kid-unknown": (compact({"alg": "EdDSA", "kid": "rotated-away"}), okta_claims()),
        "header-no-kid": (compact({"alg": "EdDSA"}), okta_claims()),
        "header-alg-none": (compact({"alg": "none", "kid": "ed25519"}), okta_claims()),
        "header-alg-hs256": (compact({"alg": "HS256", "kid": "ed25519"}), okta_claims()),
        "header-alg-mismatch": (compact({"alg": "RS256", "kid": "ed25519"}), okta_claims()),
        "header-array": (b"[]", okta_claims()),
        "payload-not-json": (ed(), b"not json"),
    }
    for name, (header, claims) in cases.items():
        payload = claims if isinstance(claims, bytes) else compact(claims)
        write("jwt", name, b"1" + header + b"\n" + payload)
    # Tokens as sent: raw mode (any first byte but 1-4).
    raw = {
        "raw-RS256": token({"alg": "RS256", "kid": "rsa-a", "typ": "JWT"}, okta_claims(), RSA_A, "RS256"),
        "raw-ES256": token({"alg": "ES256", "kid": "ec-p256"}, okta_claims(), EC_KEY, "ES256"),
        "raw-EdDSA": token({"alg": "EdDSA", "kid": "ed25519", "typ": "at+jwt"}, okta_claims(), ED_KEY, "EdDSA"),
        "raw-PS256": token({"alg": "PS256", "kid": "rsa-b"}, okta_claims(), RSA_B, "PS256"),
        "raw-two-segments": "eyJhbGciOiJSUzI1NiJ9.e30",
        "raw-padding": "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln",
        "raw-empty-payload": "eyJhbGciOiJSUzI1NiJ9..c2ln",
        "raw-four-segments": "a.b.c.d",
        "raw-bearer-prefix": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
    }
    for name, text in raw.items():
        write("jwt", name, b"0" + text.encode())


def jwks_seeds():
    keys = [jwk("rsa-a", RSA_A, "RS256"), jwk("ec-p256", EC_KEY, "ES256"),
            jwk("ed25519", ED_KEY, "EdDSA"), jwk("rsa-b", RSA_B, None)]
    write("jwks", "test-keys", compact({"keys": keys}))
    write("jwks", "okta-one-rsa", json.dumps({"keys": [keys[0]]}, indent=2).encode())
    write("jwks", "rotation-two-rsa", compact({"keys": [keys[0], dict(keys[3], kid="rsa-a-next", alg="RS256")]}))
    p384 = ec.derive_private_key(0x5EED_F0_2215, ec.SECP384R1()).public_key().public_numbers()
    write("jwks", "ec-p384", compact({"keys": [{"kty": "EC", "crv": "P-384", "kid": "p384", "alg": "ES384",
                                                "x": int_b64(p384.x, 48), "y": int_b64(p384.y, 48)}]}))
    # The unit test's mix of usable and unusable entries (keys.rs).
    write("jwks", "mixed", b"""{"keys":[
 {"kty":"RSA","kid":"r","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
 {"kty":"RSA","n":"AQAB","e":"AQAB"},
 {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
 {"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
 {"kty":"oct","kid":"h","k":"c2VjcmV0"},
 {"kty":"EC","kid":"e","crv":"P-256","x":"AQ","y":"AQ"},
 {"kty":"EC","kid":"e521","crv":"P-521","x":"AQ","y":"AQ"},
 {"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AQ"},
 {"kty":"weird","kid":"w"},
 "not an object"
]}""")
    wrong = dict(keys[1], kid="rsa-a")  # an EC key under the RSA key's kid
    write("jwks", "kid-reused-other-type", compact({"keys": [wrong, keys[2]]}))
    write("jwks", "x5c-and-extras", compact({"keys": [dict(keys[0], x5c=["MIIB"], key_ops=["verify"])]}))
    write("jwks", "empty-keys", b'{"keys":[]}')
    write("jwks", "no-keys", b"{}")
    write("jwks", "cache-control", b"public, max-age=300, must-revalidate")
    write("jwks", "cache-control-no-store", b"no-store, max-age=\"120\"")


def rql_seeds():
    filters = [
        # crates/zebrunner-sandbox/src/rql.rs tests
        "testSuite.id = 123",
        "testSuite.id=123",
        "testSuite.id IN [1,2,3]",
        "automationState.id IN [10, 12] AND deprecated = false AND draft = false",
        "createdAt >= '2025-01-01' AND createdAt <= '2025-12-31T23:59:59Z'",
        'title~="login"',
        "milestone.id = 556 AND (configurations.optionName ~= 'b' OR title ~= 'b' OR description ~= 'b') AND closed = true",
        "a != 1", "a > 1", "(a = 1", "a IN []", "a = 'x", "and = 1", "a ~= 1",
        # escapes, numbers, null and nesting
        r"title ~= 'it\'s a \\ test'",
        "priority.name = null OR id >= -1.5 AND id <= 1e3",
        "((((id = 1))))",
        "id = 1 OR id = 2 OR id = 3 AND draft = TRUE",
        "createdAt >= '2025-03-01T10:00:00+02:00'",
        "title ~= 'Ünïcödé ✓'",
    ]
    for i, f in enumerate(filters):
        write("rql", f"filter-{i:02}", f.encode())


def fnv1a(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def cursor(payload: bytes) -> str:
    tag = hmac.new(CURSOR_KEY, payload, hashlib.sha256).digest()[:16]
    return f"{b64(payload)}.{b64(tag)}"


def cursor_seeds():
    # fingerprint(&("DEMO", Some("title ~= 'login'"), 50)) in fuzz_targets/cursor.rs
    q = fnv1a(compact(["DEMO", "title ~= 'login'", 50]))
    payloads = {
        "offset": {"q": q, "o": 7},
        "scan": {"q": q, "p": 2, "o": 3, "n": 50},
        "runs": {"q": q, "t": "eyJwYWdlIjoyfQ"},
        "search": {"q": q, "t": None, "o": 0, "n": 0},
        "search-token": {"q": q, "t": "next-page", "o": 4, "n": 100},
        "other-query": {"q": "0000000000000000", "o": 1},
        "huge-offset": {"q": q, "o": 18446744073709551615},
        "scan-page-zero": {"q": q, "p": 0, "o": 0, "n": 0},
    }
    for name, p in payloads.items():
        body = compact(p)
        write("cursor", f"signed-{name}", b"s" + body)
        write("cursor", f"raw-{name}", b"r" + cursor(body).encode())
    for i, c in enumerate(SERVER_CURSORS):
        write("cursor", f"raw-server-{i}", b"r" + c.encode())
    legacy = b64(b'{"q":"abc","o":18446744073709551615}')
    write("cursor", "raw-unsigned-legacy", b"r" + legacy.encode())
    write("cursor", "raw-garbage", b"rnot-a-cursor!")
    write("cursor", "raw-truncated-tag", b"r" + cursor(compact(payloads["offset"]))[:-4].encode())


STATELESS_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "raw-e2e", "version": "1.0.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}

# Tool calls as the e2e suites make them (tests/e2e/js/lib/tool-suite.mjs and the Python
# tests), on the sandbox's seeded data. The cursors are ones the server made for these calls
# (the fuzz targets' fixed cursor key), so the paging paths are reached too.
SEARCH_CURSOR = "eyJxIjoiNTQ4Y2VjNTFiZDM2Y2U5YiIsInQiOm51bGwsIm8iOjMsIm4iOjN9.AKGo0O5gucKbZjO6iUTRMQ"
SUITES_CURSOR = "eyJxIjoiYTBjMGNiZWZmZTBjNDBiNyIsIm8iOjJ9.4EjWkEI-89BwFfzYB0iDJA"
RUNS_CURSOR = "eyJxIjoiZmE4NDE4YWU3OGNiMDdhYSIsInQiOiJlbUp5TFhCaFoyVTZNUSJ9.yOJrxaAcqI1a6jX7EKXCpw"
LAUNCHES_CURSOR = "eyJxIjoiYjI5NWYyODdjMWM5YzBlMSIsInAiOjIsIm8iOjAsIm4iOjF9.SLBfPl6UtZF1eWIhbVjg-A"
MILESTONES_CURSOR = "eyJxIjoiOTMxYmViMjY1NDBjNzlhOCIsIm8iOjF9.r00pL077CRucEzTg4WDOPQ"
RUN_CURSOR = "eyJxIjoiNDI2N2RmZTk2ODhkNzk4MyIsIm8iOjF9.WPStWN4Wm-0jYY-NfMf0dw"
LAUNCH_TESTS_CURSOR = "eyJxIjoiMWI5NzQ0ZDljZjczNWU3OSIsInAiOjEsIm8iOjEsIm4iOjF9.sq5X_-vN48Hn69K8rYSyww"
FAILURES_CURSOR = "eyJxIjoiMGNjYzVhN2FkNzZhYzlhYyIsIm8iOjF9.N0G1L8xvJYLd4YdisyODpg"
SERVER_CURSORS = [SEARCH_CURSOR, SUITES_CURSOR, RUNS_CURSOR, LAUNCHES_CURSOR, MILESTONES_CURSOR,
                  RUN_CURSOR, LAUNCH_TESTS_CURSOR, FAILURES_CURSOR]
TOOL_CALLS = [
    ("list_projects", {}),
    ("list_projects", {"starred_only": True, "format": "json"}),
    ("search_test_cases", {"project_key": "DEMO", "limit": 3, "format": "json"}),
    ("search_test_cases", {"project_key": "DEMO", "limit": 3, "format": "json", "cursor": SEARCH_CURSOR}),
    ("search_test_cases", {"project_key": "DEMO", "count_only": True}),
    ("search_test_cases", {"project_key": "DEMO", "draft": True, "automation_states": ["Automated"],
                           "priorities": ["High"], "title_contains": "login", "created_after": "2025-01-01"}),
    ("search_test_cases", {"project_key": "DEMO", "field_path": "customField.team", "field_value": "web",
                           "field_match": "contains"}),
    ("search_test_cases", {"project_key": "DEMO", "cursor": "not-a-cursor!"}),
    ("search_test_cases", {"project_key": "1BAD"}),
    ("get_test_case", {"key": "DEMO-1", "format": "json", "include_change_history": True,
                       "include_execution_history": True}),
    ("get_test_case", {"key": "not a key"}),
    ("get_test_case_history", {"key": "DEMO-1", "limit": 1, "format": "json"}),
    ("get_test_suite", {"project_key": "DEMO", "suite_id": 1, "include_case_counts": True}),
    ("list_test_suites", {"project_key": "DEMO", "limit": 2, "format": "json"}),
    ("list_test_suites", {"project_key": "DEMO", "limit": 2, "format": "json", "cursor": SUITES_CURSOR}),
    ("list_test_suites", {"project_key": "DEMO", "mode": "tree", "max_depth": 2}),
    ("get_project_settings", {"project_key": "mobile", "sections": ["priorities"]}),
    ("list_test_runs", {"project_key": "DEMO", "limit": 1, "format": "json"}),
    ("list_test_runs", {"project_key": "DEMO", "limit": 1, "format": "json", "cursor": RUNS_CURSOR}),
    ("list_test_runs", {"project_key": "DEMO", "build": "1.7", "closed": False, "milestone": "Release 1.7"}),
    ("get_test_run", {"project_key": "DEMO", "run_id": 812, "limit": 1, "format": "json"}),
    ("get_test_run", {"project_key": "DEMO", "run_id": 812, "limit": 1, "format": "json", "cursor": RUN_CURSOR}),
    ("list_launches", {"project_key": "DEMO", "page_size": 1, "format": "json"}),
    ("list_launches", {"project_key": "DEMO", "page_size": 1, "format": "json", "cursor": LAUNCHES_CURSOR}),
    ("get_launch", {"project_key": "DEMO", "launch_id": 1048, "include_attempts": True}),
    ("list_launch_tests", {"project_key": "DEMO", "launch_id": 1048, "limit": 1, "format": "json"}),
    ("list_launch_tests", {"project_key": "DEMO", "launch_id": 1048, "limit": 1, "format": "json",
                           "cursor": LAUNCH_TESTS_CURSOR, "statuses": ["FAILED"]}),
    ("list_milestones", {"project_key": "DEMO", "limit": 1, "format": "json"}),
    ("list_milestones", {"project_key": "DEMO", "limit": 1, "format": "json", "cursor": MILESTONES_CURSOR}),
    ("analyze_launch_failures", {"project_key": "DEMO", "launch_id": 1048, "limit": 1, "format": "json"}),
    ("analyze_launch_failures", {"project_key": "DEMO", "launch_id": 1048, "limit": 1, "format": "json",
                                 "cursor": FAILURES_CURSOR}),
    ("find_duplicate_test_cases", {"project_key": "DEMO", "threshold": 0.8, "max_cases": 20}),
    ("review_test_case", {"key": "DEMO-3"}),
    ("coverage_report", {"project_key": "DEMO", "chart": "png", "depth": 2}),
    ("pass_rate_report", {"project_key": "DEMO", "group_by": "day", "last": 5}),
    ("create_test_suite", {"project_key": "DEMO", "title": "x", "format": "json"}),
    ("create_test_case", {"project_key": "DEMO", "suite_id": 1, "title": "New case", "steps": [
        {"action": "Open the page", "expected_result": "It opens"}], "dry_run": True}),
    ("create_test_run", {"project_key": "DEMO", "title": "Nightly", "milestone": "Release 1.7"}),
    ("update_test_case", {"key": "DEMO-1", "title": "Renamed", "dry_run": True}),
    ("update_test_suite", {"project_key": "DEMO", "suite_id": 1, "move_to_root": True}),
    ("update_test_run", {"project_key": "DEMO", "run_id": 812, "description": "d",
                         "confirm": True, "confirmation_token": "made-up"}),
    ("add_test_cases_to_run", {"project_key": "DEMO", "run_id": 812, "test_case_keys": ["DEMO-1", "DEMO-2"]}),
    ("record_test_results", {"project_key": "DEMO", "run_id": 812, "results": [
        {"key": "DEMO-1", "status": "Passed", "execution_time_ms": 1200}]}),
]


def rpc(method, params=None, id_=1):
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


def jsonrpc_seeds():
    stateless = []
    for i, (tool, args) in enumerate(TOOL_CALLS):
        stateless.append((f"call-{i:02}-{tool}", rpc("tools/call", {"name": tool, "arguments": args, "_meta": STATELESS_META}, i)))
    for j, (method, params) in enumerate([
        ("tools/list", {}),
        ("resources/list", {}),
        ("resources/templates/list", {}),
        ("resources/read", {"uri": "zebrunner://projects"}),
        ("prompts/list", {}),
        ("ping", {}),
        ("server/discover", {}),
        ("completion/complete", {"ref": {"type": "ref/resource",
                                         "uri": "zebrunner://projects/{project_key}/suites"},
                                 "argument": {"name": "project_key", "value": "DE"}}),
        ("completion/complete", {"ref": {"type": "ref/prompt", "name": "launch-triage"},
                                 "argument": {"name": "project_key", "value": "M"}}),
        ("resources/read", {"uri": "zebrunner://projects/DEMO/suites"}),
        ("resources/read", {"uri": "zebrunner://projects/DEMO/fields"}),
        ("prompts/get", {"name": "launch-triage", "arguments": {"project_key": "DEMO", "launch_id": "1048"}}),
        ("prompts/get", {"name": "release-readiness", "arguments": {"project_key": "DEMO", "milestone": "Release 1.7"}}),
        ("logging/setLevel", {"level": "debug"}),
        ("tools/call", {"name": "no_such_tool", "arguments": {}}),
    ]):
        name = f"{method.replace('/', '-')}-{j}"
        stateless.append((name, rpc(method, dict(params, _meta=STATELESS_META), 7)))
    for name, message in stateless:
        write("jsonrpc", f"stateless-{name}", b"1" + compact(message))
    for name in ["tools-list-0", "ping-5"]:
        message = dict(stateless)[name]
        write("jsonrpc", f"unrouted-{name}", b"0" + compact(message))
    # Inside a session (2025-11-25): no _meta needed.
    write("jsonrpc", "session-tools-list", b"2" + compact(rpc("tools/list")))
    write("jsonrpc", "session-call", b"2" + compact(rpc("tools/call", {"name": "search_test_cases", "arguments": {"project_key": "DEMO", "limit": 3}})))
    write("jsonrpc", "session-notification", b"2" + compact({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}))
    write("jsonrpc", "session-response", b"2" + compact({"jsonrpc": "2.0", "id": 5, "result": {}}))
    write("jsonrpc", "session-batch", b"2" + compact([rpc("tools/list", None, 1), rpc("ping", None, 2)]))
    # The handshake path.
    init = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "call-path-tests", "version": "1"}})
    write("jsonrpc", "handshake-initialize", b"3" + compact(init))
    write("jsonrpc", "handshake-tools-list", b"3" + compact(rpc("tools/list")))
    write("jsonrpc", "stateless-not-json", b"1{\"jsonrpc\":\"2.0\",")
    write("jsonrpc", "stateless-deep", b"1" + b"[" * 200 + b"]" * 200)


CONFIGS = {
    "empty": "",
    # docs/configuration.md
    "docs-oidc-http": """transport = "http"
listen = "0.0.0.0:8080"
public_url = "https://mcp.example.com"
identity = "oidc"
allowed_hosts = ["mcp.example.com"]
database_url = "postgres://zmcp@db.internal/zmcp"

[oidc]
issuer = "https://acme.okta.com/oauth2/default"
# audience defaults to https://mcp.example.com/mcp

[policy]
allowed_groups = ["qa", "dev"]
read_only_groups = ["dev"]
admin_groups = ["qa-admins"]

[[policy.project_access]]
group = "dev"
projects = ["WEB", "API"]

[audit]
sinks = ["database", "stdout"]
""",
    "docs-confidential-client": """identity = "broker"
transport = "http"
public_url = "https://mcp.example.com"

[oidc]
issuer = "https://acme.okta.com/oauth2/default"
client_id = "0oa-web"

[[oauth.confidential_clients]]
client_id = "ci-nightly"
client_name = "Nightly CI"
secret_sha256 = "\u2026"
grants = ["client_credentials"]
groups = ["qa"]
scopes = ["zebrunner:read"]
""",
    # crates/zebrunner-mcp-server/src/config/mod.rs tests
    "test-layers": """transport = "http"
identity = "oidc"
[oidc]
issuer = "https://file.example/oauth2/default"
[policy]
allowed_groups = ["qa"]
[[policy.project_access]]
group = "dev"
projects = ["DEMO"]
""",
    "vault-connect": """transport = "http"
identity = "oidc"
credentials = "vault"
public_url = "https://mcp.example.com"
toolsets = "cases, suites"
read_only = true
confirmation_ttl_secs = 0

[oidc]
issuer = "https://acme.okta.com/oauth2/default"
audience = "api://zebrunner-mcp"
algorithms = "RS256, ES256"
leeway_secs = 30
client_id = "0oa-connect"
groups_claim = "roles"
service_clients = ["ci-bot"]

[vault]
cache_max_users = 100
cache_idle_secs = 60
revalidate_hours = 24

[zebrunner]
requests_per_second = 5
logins = { "jane@acme.com" = "jane.doe" }

[policy]
default_projects = ["DEMO", "MOBILE"]
""",
    "inline-tables": """policy = { allowed_groups = "qa", project_access = [{ group = "dev", projects = ["WEB"] }] }
audit = { sinks = "file", file = "/var/log/zmcp/audit.jsonl", retention_days = 30 }
""",
    "wrong-types": """listen = 8080
max_body_bytes = -1
identity = "okta"
[policy]
allowed_groups = 3
""",
    "unknown-key": """transprot = "http"
[oidc]
isuser = "https://x"
""",
    "ipv6-listen": """transport = "http"
listen = "[::1]:8443"
allowed_origins = ["http://localhost:6274"]
shutdown_grace_secs = 18446744073709551615
""",
}


def config_seeds():
    for name, text in CONFIGS.items():
        write("config", name, text.encode())


if __name__ == "__main__":
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    jwt_seeds()
    jwks_seeds()
    rql_seeds()
    cursor_seeds()
    jsonrpc_seeds()
    config_seeds()
    for target in sorted(os.listdir(CORPUS)):
        files = list((CORPUS / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
