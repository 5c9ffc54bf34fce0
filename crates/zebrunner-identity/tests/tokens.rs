//! Access tokens against a live test issuer: a table-driven battery of bad
//! tokens, each refused with the expected [`TokenError`], and valid tokens
//! in their several shapes, accepted and mapped to an [`Identity`].

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use support::*;
use zebrunner_identity::{Identity, OidcConfig, OidcValidator, TokenError};

struct Fixture {
    issuer: TestIssuer,
    validator: OidcValidator,
    a: TestKey,
    c: TestKey,
    ec: TestKey,
}

/// Issuer with RSA key `rsa-a`, the same RSA key as `rsa-a-any` (no `alg`
/// in its JWK), an EC P-256 key and an Ed25519 key; the validator allows
/// RS256 and PS256 only, clients `web-app` and `svc-app`, service client
/// `svc-app`.
async fn fixture() -> Fixture {
    let (a, c, ec, ed) = (rsa("rsa-a"), rsa("rsa-c"), ec(), ed());
    let any = a.renamed("rsa-a-any", false);
    let issuer = TestIssuer::start(&[&a, &any, &ec, &ed]).await;
    let mut config = OidcConfig::new(issuer.issuer.clone(), AUDIENCE);
    config.algorithms = vec![Algorithm::RS256, Algorithm::PS256];
    config.allowed_client_ids = vec!["web-app".into(), "svc-app".into()];
    config.service_clients = vec!["svc-app".into()];
    let validator = OidcValidator::discover(config).await.expect("discover");
    Fixture {
        issuer,
        validator,
        a,
        c,
        ec,
    }
}

fn with(mut v: Value, pairs: &[(&str, Value)]) -> Value {
    for (k, x) in pairs {
        v[*k] = x.clone();
    }
    v
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    for k in keys {
        v.as_object_mut().unwrap().remove(*k);
    }
    v
}

fn hdr(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "JWT"})
}

/// Replaces the payload segment, keeping header and signature.
fn swap_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_vec(payload).unwrap()),
        parts[2]
    )
}

#[tokio::test]
async fn battery_of_bad_tokens_is_refused_with_the_right_error() {
    let f = fixture().await;
    let good = f.issuer.okta_claims();
    let now = now();
    let a = &f.a;
    let sign = |h: Value, c: &Value| sign_raw(&h, c, &a.encoding, Algorithm::RS256);
    let valid = encode(a, &good);
    assert!(
        f.validator.validate(&valid).await.is_ok(),
        "the baseline token must pass"
    );
    let vparts: Vec<String> = valid.split('.').map(str::to_owned).collect();

    let rsa_public_pem = {
        // The public key bytes an attacker would use as an HMAC secret.
        let n = a.jwk["n"].as_str().unwrap().to_owned();
        let e = a.jwk["e"].as_str().unwrap().to_owned();
        format!("{n}.{e}").into_bytes()
    };

    let cases: Vec<(&str, String, TokenError)> = vec![
        (
            "expired",
            encode(a, &with(good.clone(), &[("exp", json!(now - 3600))])),
            TokenError::Expired,
        ),
        (
            "expired beyond leeway",
            encode(a, &with(good.clone(), &[("exp", json!(now - 61))])),
            TokenError::Expired,
        ),
        (
            "future nbf",
            encode(a, &with(good.clone(), &[("nbf", json!(now + 3600))])),
            TokenError::NotYetValid,
        ),
        (
            "future iat",
            encode(a, &with(good.clone(), &[("iat", json!(now + 3600))])),
            TokenError::IssuedInFuture,
        ),
        (
            "wrong iss",
            encode(
                a,
                &with(
                    good.clone(),
                    &[("iss", json!("https://evil.okta.com/oauth2/default"))],
                ),
            ),
            TokenError::WrongIssuer,
        ),
        (
            "iss with trailing slash",
            encode(
                a,
                &with(
                    good.clone(),
                    &[("iss", json!(format!("{}/", f.issuer.issuer)))],
                ),
            ),
            TokenError::WrongIssuer,
        ),
        (
            "iss as array",
            encode(a, &with(good.clone(), &[("iss", json!([f.issuer.issuer]))])),
            TokenError::InvalidClaim("iss"),
        ),
        (
            "missing iss",
            encode(a, &without(good.clone(), &["iss"])),
            TokenError::MissingClaim("iss"),
        ),
        (
            "wrong aud",
            encode(a, &with(good.clone(), &[("aud", json!("api://other"))])),
            TokenError::WrongAudience,
        ),
        (
            "aud array without us",
            encode(
                a,
                &with(good.clone(), &[("aud", json!(["api://a", "api://b"]))]),
            ),
            TokenError::WrongAudience,
        ),
        (
            "aud as number",
            encode(a, &with(good.clone(), &[("aud", json!(42))])),
            TokenError::InvalidClaim("aud"),
        ),
        (
            "missing aud",
            encode(a, &without(good.clone(), &["aud"])),
            TokenError::MissingClaim("aud"),
        ),
        (
            "ID token (aud = client, nonce)",
            encode(
                a,
                &with(
                    without(good.clone(), &["scp", "cid"]),
                    &[
                        ("aud", json!("web-app")),
                        ("azp", json!("web-app")),
                        ("nonce", json!("n-0S6")),
                    ],
                ),
            ),
            TokenError::IdToken,
        ),
        (
            "ID token with at_hash, our aud",
            encode(
                a,
                &with(
                    good.clone(),
                    &[("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ"))],
                ),
            ),
            TokenError::IdToken,
        ),
        (
            "ID token without nonce: aud = client, no scope",
            encode(
                a,
                &with(
                    without(good.clone(), &["scp"]),
                    &[("aud", json!("web-app"))],
                ),
            ),
            TokenError::IdToken,
        ),
        (
            "alg none, empty signature",
            format!("{}.{}.", b64(br#"{"alg":"none","kid":"rsa-a"}"#), vparts[1]),
            TokenError::Malformed,
        ),
        (
            "alg none with a signature",
            format!(
                "{}.{}.{}",
                b64(br#"{"alg":"none","kid":"rsa-a"}"#),
                vparts[1],
                vparts[2]
            ),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "HS256 signed with the public key bytes",
            sign_raw(
                &hdr("HS256", "rsa-a"),
                &good,
                &EncodingKey::from_secret(&rsa_public_pem),
                Algorithm::HS256,
            ),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "RS384 (not allowed)",
            sign_raw(&hdr("RS384", "rsa-a"), &good, &a.encoding, Algorithm::RS384),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "ES256 when not allowed",
            encode(&f.ec, &good),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "unknown kid",
            sign(hdr("RS256", "no-such-key"), &good),
            TokenError::UnknownKey,
        ),
        (
            "missing kid",
            sign(json!({"alg": "RS256", "typ": "JWT"}), &good),
            TokenError::MissingKeyId,
        ),
        (
            "empty kid",
            sign(hdr("RS256", ""), &good),
            TokenError::MissingKeyId,
        ),
        (
            "kid not a string",
            sign(json!({"alg": "RS256", "kid": 7}), &good),
            TokenError::Malformed,
        ),
        (
            "RS256 token whose kid is the EC key",
            sign(hdr("RS256", "ec-p256"), &good),
            TokenError::AlgorithmMismatch,
        ),
        (
            "RS256 token whose kid is the Ed25519 key",
            sign(hdr("RS256", "ed25519"), &good),
            TokenError::AlgorithmMismatch,
        ),
        (
            "PS256 token with a key pinned to RS256",
            sign_raw(&hdr("PS256", "rsa-a"), &good, &a.encoding, Algorithm::PS256),
            TokenError::AlgorithmMismatch,
        ),
        (
            "signed by another key under our kid",
            sign_raw(
                &hdr("RS256", "rsa-a"),
                &good,
                &f.c.encoding,
                Algorithm::RS256,
            ),
            TokenError::BadSignature,
        ),
        (
            "tampered payload",
            swap_payload(&valid, &with(good.clone(), &[("uid", json!("00u1admin"))])),
            TokenError::BadSignature,
        ),
        (
            "tampered signature",
            format!("{}.{}.{}", vparts[0], vparts[1], flip_last(&vparts[2])),
            TokenError::BadSignature,
        ),
        (
            "signature truncated",
            format!(
                "{}.{}.{}",
                vparts[0],
                vparts[1],
                &vparts[2][..vparts[2].len() / 4 * 4 - 8]
            ),
            TokenError::BadSignature,
        ),
        (
            "signature not base64url-decodable",
            format!(
                "{}.{}.{}",
                vparts[0],
                vparts[1],
                &vparts[2][..vparts[2].len() - 1]
            ),
            TokenError::Malformed,
        ),
        (
            "truncated in the payload",
            valid[..vparts[0].len() + 20].to_owned(),
            TokenError::Malformed,
        ),
        (
            "2 segments",
            format!("{}.{}", vparts[0], vparts[1]),
            TokenError::Malformed,
        ),
        (
            "4 segments",
            format!("{valid}.{}", vparts[2]),
            TokenError::Malformed,
        ),
        (
            "non-base64 header",
            format!("!!!.{}.{}", vparts[1], vparts[2]),
            TokenError::Malformed,
        ),
        (
            "padded segments",
            format!("{}=.{}.{}", vparts[0], vparts[1], vparts[2]),
            TokenError::Malformed,
        ),
        (
            "garbage JSON in header",
            sign_bytes(
                b"{\"alg\":\"RS256\",",
                &serde_json::to_vec(&good).unwrap(),
                a,
            ),
            TokenError::Malformed,
        ),
        (
            "header is a JSON array",
            sign_bytes(b"[\"RS256\"]", &serde_json::to_vec(&good).unwrap(), a),
            TokenError::Malformed,
        ),
        (
            "garbage JSON in payload (signed)",
            sign_bytes(br#"{"alg":"RS256","kid":"rsa-a"}"#, b"{\"sub\":", a),
            TokenError::Malformed,
        ),
        (
            "payload is a JSON string (signed)",
            sign_bytes(br#"{"alg":"RS256","kid":"rsa-a"}"#, b"\"hello\"", a),
            TokenError::Malformed,
        ),
        (
            "oversized header",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "pad": "x".repeat(20_000)}),
                &good,
            ),
            TokenError::TooLarge,
        ),
        (
            "huge blob",
            "a".repeat(zebrunner_identity::MAX_TOKEN_BYTES + 1),
            TokenError::TooLarge,
        ),
        (
            "typ id_token",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "typ": "id_token"}),
                &good,
            ),
            TokenError::WrongType,
        ),
        (
            "typ dpop+jwt",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "typ": "dpop+jwt"}),
                &good,
            ),
            TokenError::WrongType,
        ),
        (
            "typ logout+jwt",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "typ": "logout+jwt"}),
                &good,
            ),
            TokenError::WrongType,
        ),
        (
            "missing exp",
            encode(a, &without(good.clone(), &["exp"])),
            TokenError::MissingClaim("exp"),
        ),
        (
            "exp as a string",
            encode(
                a,
                &with(good.clone(), &[("exp", json!((now + 600).to_string()))]),
            ),
            TokenError::InvalidClaim("exp"),
        ),
        (
            "missing sub",
            encode(a, &without(good.clone(), &["sub"])),
            TokenError::MissingClaim("sub"),
        ),
        (
            "empty sub",
            encode(a, &with(good.clone(), &[("sub", json!(""))])),
            TokenError::InvalidClaim("sub"),
        ),
        (
            "cid not allowed",
            encode(a, &with(good.clone(), &[("cid", json!("rogue-app"))])),
            TokenError::ClientNotAllowed,
        ),
        (
            "no client id with an allow-list",
            encode(a, &without(good.clone(), &["cid"])),
            TokenError::ClientNotAllowed,
        ),
        (
            "client-credentials token without uid",
            encode(
                a,
                &with(
                    without(good.clone(), &["uid", "groups", "name"]),
                    &[("sub", json!("web-app"))],
                ),
            ),
            TokenError::NoUser,
        ),
        (
            "groups of the wrong type",
            encode(a, &with(good.clone(), &[("groups", json!({"qa": true}))])),
            TokenError::InvalidClaim("groups"),
        ),
        (
            "scp of the wrong type",
            encode(a, &with(good.clone(), &[("scp", json!(5))])),
            TokenError::InvalidClaim("scp"),
        ),
        (
            "crit header",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "crit": ["exp"], "exp": 1}),
                &good,
            ),
            TokenError::ForbiddenHeader,
        ),
        (
            "jku header",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "jku": "https://evil.example/jwks"}),
                &good,
            ),
            TokenError::ForbiddenHeader,
        ),
        (
            "x5u header",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "x5u": "https://evil.example/cert"}),
                &good,
            ),
            TokenError::ForbiddenHeader,
        ),
        (
            "embedded jwk header",
            sign(
                json!({"alg": "RS256", "kid": "rsa-a", "jwk": f.c.jwk}),
                &good,
            ),
            TokenError::ForbiddenHeader,
        ),
        ("empty token", String::new(), TokenError::Malformed),
        ("whitespace", " ".to_owned(), TokenError::Malformed),
        ("leading space", format!(" {valid}"), TokenError::Malformed),
        (
            "trailing newline",
            format!("{valid}\n"),
            TokenError::Malformed,
        ),
        (
            "with the Bearer prefix",
            format!("Bearer {valid}"),
            TokenError::Malformed,
        ),
        ("non-ASCII", format!("{valid}é"), TokenError::Malformed),
        ("just dots", "..".to_owned(), TokenError::Malformed),
    ];
    assert!(cases.len() >= 30, "the battery has {} cases", cases.len());

    let mut failures = Vec::new();
    for (name, token, want) in &cases {
        let got = f.validator.validate(token).await;
        match &got {
            Err(e) if e == want => {
                // Errors never carry token contents.
                let text = format!("{e} {e:?} {}", e.description());
                for segment in token.split('.').filter(|s| s.len() >= 8) {
                    assert!(
                        !text.contains(&segment[..8]),
                        "{name}: error echoes the token: {text}"
                    );
                }
            }
            _ => failures.push(format!("{name}: expected {want:?}, got {got:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn flip_last(segment: &str) -> String {
    let mut s = segment.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == 'A' { 'Q' } else { 'A' });
    s
}

#[tokio::test]
async fn valid_tokens_are_accepted_and_mapped() {
    let f = fixture().await;
    let good = f.issuer.okta_claims();
    let now = now();

    // Okta custom-AS access token: string aud, scp array, groups, uid, cid.
    let id = f.validator.validate(&encode(&f.a, &good)).await.unwrap();
    assert_eq!(
        id,
        Identity {
            user_key: "uid:00u1jane".into(),
            subject: "jane.doe@acme.com".into(),
            email: Some("jane.doe@acme.com".into()),
            name: Some("Jane Doe".into()),
            groups: vec!["qa".into(), "Everyone".into()],
            scopes: vec!["zebrunner:read".into(), "openid".into()],
            client_id: Some("web-app".into()),
            is_service: false,
            grant_id: None,
            expires_at: good["exp"].as_i64().unwrap(),
        }
    );

    // Array aud containing ours; scp as a space-separated string.
    let claims = with(
        good.clone(),
        &[
            ("aud", json!(["api://other", AUDIENCE])),
            ("scp", json!("zebrunner:read zebrunner:write")),
        ],
    );
    let id = f.validator.validate(&encode(&f.a, &claims)).await.unwrap();
    assert_eq!(id.scopes, ["zebrunner:read", "zebrunner:write"]);

    // oidc-provider shape: typ at+jwt, `scope` string, `client_id`, no uid,
    // groups as one string, e-mail in `email`.
    let claims = with(
        without(good.clone(), &["scp", "cid", "uid", "name", "ver"]),
        &[
            ("scope", json!("zebrunner:read")),
            ("client_id", json!("web-app")),
            ("sub", json!("alice")),
            ("email", json!("alice@example.test")),
            ("groups", json!("qa")),
        ],
    );
    let header = json!({"alg": "RS256", "kid": "rsa-a", "typ": "at+jwt"});
    let id = f
        .validator
        .validate(&sign_raw(&header, &claims, &f.a.encoding, Algorithm::RS256))
        .await
        .unwrap();
    assert_eq!(
        (id.user_key.as_str(), id.email.as_deref()),
        ("sub:alice", Some("alice@example.test"))
    );
    assert_eq!(
        (
            id.scopes.clone(),
            id.groups.clone(),
            id.client_id.as_deref()
        ),
        (
            vec!["zebrunner:read".to_owned()],
            vec!["qa".to_owned()],
            Some("web-app")
        )
    );

    // No typ header at all; exp just inside the leeway; nbf just inside.
    let claims = with(
        good.clone(),
        &[("exp", json!(now - 30)), ("nbf", json!(now + 30))],
    );
    let header = json!({"alg": "RS256", "kid": "rsa-a"});
    assert!(
        f.validator
            .validate(&sign_raw(&header, &claims, &f.a.encoding, Algorithm::RS256))
            .await
            .is_ok()
    );

    // PS256 with a JWK that names no alg.
    let header = json!({"alg": "PS256", "kid": "rsa-a-any", "typ": "JWT"});
    assert!(
        f.validator
            .validate(&sign_raw(&header, &good, &f.a.encoding, Algorithm::PS256))
            .await
            .is_ok()
    );

    // A configured service client's client-credentials token.
    let claims = json!({"iss": f.issuer.issuer, "aud": AUDIENCE, "iat": now, "exp": now + 300,
        "cid": "svc-app", "sub": "svc-app", "scp": ["zebrunner:read"]});
    let id = f.validator.validate(&encode(&f.a, &claims)).await.unwrap();
    assert!(id.is_service);
    assert_eq!(
        (id.user_key.as_str(), id.email.as_deref()),
        ("client:svc-app", None)
    );
}

#[tokio::test]
async fn es256_and_eddsa_when_allowed() {
    let (a, ec, ed) = (rsa("rsa-a"), ec(), ed());
    let issuer = TestIssuer::start(&[&a, &ec, &ed]).await;
    let mut config = OidcConfig::new(issuer.issuer.clone(), AUDIENCE);
    config.algorithms = vec![Algorithm::ES256, Algorithm::EdDSA];
    let validator = OidcValidator::discover(config).await.unwrap();
    let claims = issuer.okta_claims();
    assert_eq!(
        validator
            .validate(&encode(&ec, &claims))
            .await
            .unwrap()
            .user_key,
        "uid:00u1jane"
    );
    assert_eq!(
        validator
            .validate(&encode(&ed, &claims))
            .await
            .unwrap()
            .user_key,
        "uid:00u1jane"
    );
    assert_eq!(
        validator.validate(&encode(&a, &claims)).await,
        Err(TokenError::UnsupportedAlgorithm)
    );
    // An ES256 header on the Ed25519 key.
    let header = json!({"alg": "ES256", "kid": "ed25519"});
    assert_eq!(
        validator
            .validate(&sign_raw(&header, &claims, &ec.encoding, Algorithm::ES256))
            .await,
        Err(TokenError::AlgorithmMismatch)
    );
}
