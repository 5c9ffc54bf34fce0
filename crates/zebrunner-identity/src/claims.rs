//! Claim checks after the signature verified, and the mapping of claims to
//! an [`Identity`].
//!
//! Order (the first failure is reported): `iss` exact → ID-token rule →
//! `aud` contains ours → `exp` (required) → `nbf` → `iat` → `sub` (required)
//! → client allow-list → user or service client.
//!
//! # ID-token rule
//!
//! A token is an OpenID Connect ID token, refused with
//! [`TokenError::IdToken`], when its payload has `nonce`, `at_hash` or
//! `c_hash` (claims only ID tokens carry; Okta and oidc-provider access
//! tokens have none of them), or when it has neither `scp` nor `scope` and
//! every `aud` value equals its client id (`cid`/`client_id`/`azp`): an ID
//! token's audience is the client. The `typ` header is checked separately
//! (see [`crate::validate`]): absent, `JWT` and `at+jwt` are accepted,
//! because Okta access tokens carry `JWT` or nothing and RFC 9068 ones
//! `at+jwt`.

use serde_json::{Map, Value};

use crate::config::OidcConfig;
use crate::error::TokenError;
use crate::identity::Identity;

/// Checks `claims` at time `now` (seconds since the epoch) and maps them.
pub(crate) fn check(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    now: i64,
) -> Result<Identity, TokenError> {
    let iss = string_claim(claims, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
    if iss != config.issuer {
        return Err(TokenError::WrongIssuer);
    }

    let client_id = ["cid", "client_id", "azp"]
        .into_iter()
        .find_map(|name| claims.get(name).and_then(Value::as_str))
        .map(str::to_owned);
    let auds = audiences(claims)?;
    if is_id_token(claims, &auds, client_id.as_deref()) {
        return Err(TokenError::IdToken);
    }
    if auds.is_empty() {
        return Err(TokenError::MissingClaim("aud"));
    }
    if !auds.iter().any(|a| *a == config.audience) {
        return Err(TokenError::WrongAudience);
    }

    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let exp = time_claim(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = time_claim(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    if let Some(iat) = time_claim(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(TokenError::IssuedInFuture);
    }

    let subject = string_claim(claims, "sub")?.ok_or(TokenError::MissingClaim("sub"))?;
    if subject.is_empty() {
        return Err(TokenError::InvalidClaim("sub"));
    }

    if !config.allowed_client_ids.is_empty()
        && !client_id
            .as_ref()
            .is_some_and(|c| config.allowed_client_ids.contains(c))
    {
        return Err(TokenError::ClientNotAllowed);
    }

    let uid = string_claim(claims, "uid")?.filter(|u| !u.is_empty());
    let mut is_service = false;
    if uid.is_none()
        && let Some(client) = &client_id
        && client == subject
    {
        if !config.service_clients.contains(client) {
            return Err(TokenError::NoUser);
        }
        is_service = true;
    }

    // Each key names its claim: a bare value would let a token without `uid`
    // whose `sub` equals another user's `uid` pass as that user (in session
    // bindings, confirmation tokens and the audit log).
    let user_key = match (uid, &client_id) {
        (Some(uid), _) => format!("uid:{uid}"),
        (None, Some(client)) if is_service => format!("client:{client}"),
        (None, _) => format!("sub:{subject}"),
    };
    let email = string_claim(claims, "email")?
        .map(str::to_owned)
        .or_else(|| looks_like_email(subject).then(|| subject.to_owned()));
    Ok(Identity {
        user_key,
        subject: subject.to_owned(),
        email,
        name: string_claim(claims, "name")?.map(str::to_owned),
        groups: groups(claims.get(config.groups_claim.as_str()))?,
        scopes: scopes(claims)?,
        client_id,
        is_service,
        expires_at: exp,
        grant_id: string_claim(claims, "grant_id")?.map(str::to_owned),
    })
}

/// What a verified ID token says about the person who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
}

/// The ID-token checks of OpenID Connect Core §3.1.3.7 (steps 2, 3, 4, 9, 10) and, when
/// `nonce` is given, step 11: the token's `nonce` equals it. `None` is for an ID token
/// presented to us without a sign-in of ours (a token exchange), which sent no nonce to
/// compare: a `nonce` the token carries is then not checked.
pub(crate) fn check_id_token(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    client_id: &str,
    nonce: Option<&str>,
    now: i64,
) -> Result<IdTokenClaims, TokenError> {
    let iss = string_claim(claims, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
    if iss != config.issuer {
        return Err(TokenError::WrongIssuer);
    }
    let auds = audiences(claims)?;
    if !auds.contains(&client_id) {
        return Err(TokenError::WrongAudience);
    }
    let azp = string_claim(claims, "azp")?;
    if (auds.len() > 1 || azp.is_some()) && azp != Some(client_id) {
        return Err(TokenError::WrongAudience);
    }
    issued_and_unexpired(claims, config, now)?;
    if let Some(nonce) = nonce {
        match string_claim(claims, "nonce")? {
            Some(sent) if !nonce.is_empty() && sent == nonce => {}
            Some(_) => return Err(TokenError::WrongNonce),
            None => return Err(TokenError::MissingClaim("nonce")),
        }
    }
    let subject = string_claim(claims, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::MissingClaim("sub"))?;
    Ok(IdTokenClaims {
        subject: subject.to_owned(),
        email: string_claim(claims, "email")?.map(str::to_owned),
        name: string_claim(claims, "name")?.map(str::to_owned),
        preferred_username: string_claim(claims, "preferred_username")?.map(str::to_owned),
    })
}

fn is_id_token(claims: &Map<String, Value>, auds: &[&str], client_id: Option<&str>) -> bool {
    if ["nonce", "at_hash", "c_hash"]
        .iter()
        .any(|c| claims.contains_key(*c))
    {
        return true;
    }
    let has_scope = claims.contains_key("scp") || claims.contains_key("scope");
    !has_scope && !auds.is_empty() && client_id.is_some_and(|c| auds.iter().all(|a| *a == c))
}

/// `exp` and `iat`, both required: not expired, not issued in the future (within the
/// configured leeway). Both, for rules that compare them.
pub(crate) fn issued_and_unexpired(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    now: i64,
) -> Result<(i64, i64), TokenError> {
    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let exp = time_claim(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let iat = time_claim(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture);
    }
    Ok((exp, iat))
}

pub(crate) fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number, fractions dropped.
pub(crate) fn time_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) => Ok(Some(v)),
            None => match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
                _ => Err(TokenError::InvalidClaim(name)),
            },
        },
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

pub(crate) fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, TokenError> {
    match claims.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(TokenError::InvalidClaim("aud")))
            .collect(),
        Some(_) => Err(TokenError::InvalidClaim("aud")),
    }
}

pub(crate) fn scopes(claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    for name in ["scp", "scope"] {
        match claims.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(s.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => {
                return items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or(TokenError::InvalidClaim(if name == "scp" {
                                "scp"
                            } else {
                                "scope"
                            }))
                    })
                    .collect();
            }
            Some(_) => {
                return Err(TokenError::InvalidClaim(if name == "scp" {
                    "scp"
                } else {
                    "scope"
                }));
            }
        }
    }
    Ok(Vec::new())
}

pub(crate) fn groups(value: Option<&Value>) -> Result<Vec<String>, TokenError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(TokenError::InvalidClaim("groups"))
            })
            .collect(),
        Some(_) => Err(TokenError::InvalidClaim("groups")),
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn config() -> OidcConfig {
        OidcConfig::new("https://a.okta.com/oauth2/default", "api://zebrunner")
    }

    fn okta() -> Value {
        json!({
            "ver": 1, "jti": "AT.x", "iss": "https://a.okta.com/oauth2/default", "aud": "api://zebrunner",
            "iat": NOW - 10, "exp": NOW + 3600, "cid": "0oa1", "uid": "00u1", "sub": "jane@acme.com",
            "scp": ["zebrunner:read", "openid"], "groups": ["qa", "admins"], "auth_time": NOW - 100
        })
    }

    fn run(v: Value) -> Result<Identity, TokenError> {
        check(v.as_object().unwrap(), &config(), NOW)
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }

    fn without(mut v: Value, k: &str) -> Value {
        v.as_object_mut().unwrap().remove(k);
        v
    }

    #[test]
    fn okta_access_token_maps_to_identity() {
        let id = run(okta()).unwrap();
        assert_eq!(
            id,
            Identity {
                user_key: "uid:00u1".into(),
                subject: "jane@acme.com".into(),
                email: Some("jane@acme.com".into()),
                name: None,
                groups: vec!["qa".into(), "admins".into()],
                scopes: vec!["zebrunner:read".into(), "openid".into()],
                client_id: Some("0oa1".into()),
                is_service: false,
                grant_id: None,
                expires_at: NOW + 3600,
            }
        );
        assert!(id.has_scope("openid") && id.in_group("qa") && !id.in_group("x"));
    }

    #[test]
    fn time_edges_with_leeway() {
        assert!(run(with(okta(), "exp", json!(NOW - 59))).is_ok());
        assert_eq!(
            run(with(okta(), "exp", json!(NOW - 60))),
            Err(TokenError::Expired)
        );
        assert!(run(with(okta(), "nbf", json!(NOW + 60))).is_ok());
        assert_eq!(
            run(with(okta(), "nbf", json!(NOW + 61))),
            Err(TokenError::NotYetValid)
        );
        assert!(run(with(okta(), "iat", json!(NOW + 60))).is_ok());
        assert_eq!(
            run(with(okta(), "iat", json!(NOW + 61))),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(
            run(with(okta(), "exp", json!(NOW as f64 + 100.5)))
                .unwrap()
                .expires_at,
            NOW + 100
        );
        assert_eq!(
            run(with(okta(), "exp", json!("soon"))),
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(
            run(with(okta(), "iat", json!(null))),
            Err(TokenError::InvalidClaim("iat"))
        );
    }

    fn id_token(nonce: &str) -> Map<String, Value> {
        json!({"iss": "https://a.okta.com/oauth2/default", "aud": "0oaweb", "sub": "00u1", "exp": NOW + 300, "iat": NOW,
               "nonce": nonce, "email": "jane@acme.com"})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn id_tokens_need_our_client_our_nonce_and_a_live_time() {
        let config = config();
        let check = |c: &Map<String, Value>| check_id_token(c, &config, "0oaweb", Some("n-1"), NOW);
        let ok = check(&id_token("n-1")).unwrap();
        assert_eq!(ok.subject, "00u1");
        assert_eq!(ok.email.as_deref(), Some("jane@acme.com"));
        assert_eq!(check(&id_token("n-2")), Err(TokenError::WrongNonce));
        let mut no_nonce = id_token("n-1");
        no_nonce.remove("nonce");
        assert_eq!(check(&no_nonce), Err(TokenError::MissingClaim("nonce")));
        assert_eq!(
            check_id_token(&id_token(""), &config, "0oaweb", Some(""), NOW),
            Err(TokenError::WrongNonce)
        );
        let mut other = id_token("n-1");
        other.insert("aud".into(), json!("0oaother"));
        assert_eq!(check(&other), Err(TokenError::WrongAudience));
        let mut shared = id_token("n-1");
        shared.insert("aud".into(), json!(["0oaweb", "0oaother"]));
        assert_eq!(check(&shared), Err(TokenError::WrongAudience));
        shared.insert("azp".into(), json!("0oaweb"));
        assert!(check(&shared).is_ok());
        let mut stale = id_token("n-1");
        stale.insert("exp".into(), json!(NOW - 3600));
        assert_eq!(check(&stale), Err(TokenError::Expired));
        let mut foreign = id_token("n-1");
        foreign.insert("iss".into(), json!("https://evil.example"));
        assert_eq!(check(&foreign), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn id_tokens_presented_without_our_sign_in_skip_only_the_nonce() {
        let config = config();
        let check = |c: &Map<String, Value>| check_id_token(c, &config, "0oaweb", None, NOW);
        let edit = |field: &str, value: Value| {
            let mut c = id_token("n-1");
            c.insert(field.into(), value);
            c
        };
        let drop = |field: &str| {
            let mut c = id_token("n-1");
            c.remove(field);
            c
        };
        // Any nonce, or none at all.
        assert!(check(&id_token("n-1")).is_ok());
        assert!(check(&id_token("")).is_ok());
        let ok = check(&drop("nonce")).unwrap();
        assert_eq!(ok.subject, "00u1");
        assert_eq!(ok.email.as_deref(), Some("jane@acme.com"));
        let named = check(&edit("preferred_username", json!("jane"))).unwrap();
        assert_eq!(named.preferred_username.as_deref(), Some("jane"));
        // Everything else as with a nonce.
        let expect = [
            (
                edit("iss", json!("https://evil.example")),
                TokenError::WrongIssuer,
            ),
            (
                edit("iss", json!("https://a.okta.com/oauth2/default/")),
                TokenError::WrongIssuer,
            ),
            (drop("iss"), TokenError::MissingClaim("iss")),
            (edit("aud", json!("0oaother")), TokenError::WrongAudience),
            (drop("aud"), TokenError::WrongAudience),
            (edit("aud", json!(7)), TokenError::InvalidClaim("aud")),
            (
                edit("aud", json!(["0oaother", "0oaweb"])),
                TokenError::WrongAudience,
            ),
            (edit("azp", json!("0oaother")), TokenError::WrongAudience),
            (edit("exp", json!(NOW - 60)), TokenError::Expired),
            (drop("exp"), TokenError::MissingClaim("exp")),
            (edit("exp", json!("soon")), TokenError::InvalidClaim("exp")),
            (edit("iat", json!(NOW + 61)), TokenError::IssuedInFuture),
            (drop("iat"), TokenError::MissingClaim("iat")),
            (edit("sub", json!("")), TokenError::MissingClaim("sub")),
            (drop("sub"), TokenError::MissingClaim("sub")),
            (edit("sub", json!(1)), TokenError::InvalidClaim("sub")),
            (
                edit("email", json!(true)),
                TokenError::InvalidClaim("email"),
            ),
        ];
        for (claims, error) in expect {
            assert_eq!(check(&claims), Err(error.clone()), "{claims:?}");
            let mut with_nonce = claims.clone();
            with_nonce.insert("nonce".into(), json!("n-1"));
            assert_eq!(
                check_id_token(&with_nonce, &config, "0oaweb", Some("n-1"), NOW),
                Err(error),
                "the same refusal with a nonce: {claims:?}"
            );
        }
        assert!(check(&edit("exp", json!(NOW - 59))).is_ok(), "leeway");
        assert!(check(&edit("azp", json!("0oaweb"))).is_ok());
        let mut shared = edit("aud", json!(["0oaother", "0oaweb"]));
        shared.insert("azp".into(), json!("0oaweb"));
        assert!(check(&shared).is_ok());
    }

    #[test]
    fn id_token_rule() {
        assert_eq!(
            run(with(okta(), "nonce", json!("n"))),
            Err(TokenError::IdToken)
        );
        assert_eq!(
            run(with(okta(), "at_hash", json!("h"))),
            Err(TokenError::IdToken)
        );
        assert_eq!(
            run(with(okta(), "c_hash", json!("h"))),
            Err(TokenError::IdToken)
        );
        let id_like = with(without(okta(), "scp"), "aud", json!("0oa1"));
        assert_eq!(run(id_like.clone()), Err(TokenError::IdToken));
        // With a scope it is an access token for another audience.
        assert_eq!(
            run(with(id_like, "scp", json!(["x"]))),
            Err(TokenError::WrongAudience)
        );
        // No scope but our audience: fine (scopes are empty).
        assert_eq!(
            run(without(okta(), "scp")).unwrap().scopes,
            Vec::<String>::new()
        );
    }

    #[test]
    fn scopes_groups_email_and_client_forms() {
        let v = with(without(okta(), "scp"), "scope", json!("a b  c"));
        assert_eq!(run(v).unwrap().scopes, ["a", "b", "c"]);
        assert_eq!(
            run(with(okta(), "scp", json!("x y"))).unwrap().scopes,
            ["x", "y"]
        );
        assert_eq!(
            run(with(okta(), "scp", json!([1]))),
            Err(TokenError::InvalidClaim("scp"))
        );
        assert_eq!(
            run(with(okta(), "groups", json!("solo"))).unwrap().groups,
            ["solo"]
        );
        assert_eq!(
            run(with(okta(), "groups", json!({"a": 1}))),
            Err(TokenError::InvalidClaim("groups"))
        );
        assert_eq!(
            run(without(okta(), "groups")).unwrap().groups,
            Vec::<String>::new()
        );
        let v = with(
            with(okta(), "sub", json!("jane")),
            "email",
            json!("j@x.org"),
        );
        assert_eq!(run(v).unwrap().email.as_deref(), Some("j@x.org"));
        assert_eq!(run(with(okta(), "sub", json!("jane"))).unwrap().email, None);
        let v = with(without(okta(), "cid"), "client_id", json!("web"));
        assert_eq!(run(v).unwrap().client_id.as_deref(), Some("web"));
        let v = with(without(okta(), "cid"), "azp", json!("spa"));
        assert_eq!(run(v).unwrap().client_id.as_deref(), Some("spa"));
        let v = without(without(okta(), "cid"), "uid");
        let id = run(v).unwrap();
        assert_eq!(
            (id.user_key.as_str(), id.client_id),
            ("sub:jane@acme.com", None)
        );
    }

    #[test]
    fn service_clients() {
        let cc = json!({"iss": "https://a.okta.com/oauth2/default", "aud": "api://zebrunner", "exp": NOW + 60,
            "sub": "0oasvc", "cid": "0oasvc", "scp": ["zebrunner:read"]});
        assert_eq!(run(cc.clone()), Err(TokenError::NoUser));
        let mut c = config();
        c.service_clients = vec!["0oasvc".into()];
        let id = check(cc.as_object().unwrap(), &c, NOW).unwrap();
        assert!(id.is_service);
        assert_eq!(id.user_key, "client:0oasvc");
    }

    #[test]
    fn user_keys_name_the_claim_they_come_from() {
        let jane = run(okta()).unwrap();
        assert_eq!(jane.user_key, "uid:00u1");
        // A token without uid whose sub is jane's uid is someone else.
        let lookalike = run(with(without(okta(), "uid"), "sub", json!("00u1"))).unwrap();
        assert_eq!(lookalike.user_key, "sub:00u1");
        assert_ne!(lookalike.user_key, jane.user_key);
        // An empty uid is no uid.
        let v = with(okta(), "uid", json!(""));
        assert_eq!(run(v).unwrap().user_key, "sub:jane@acme.com");
    }

    #[test]
    fn email_heuristic() {
        for ok in ["a@b.co", "jane.doe+x@acme.example.com"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "jane", "@b.co", "a@b", "a@.co", "a@b.", "a b@c.d", "a@b@c.d", "00u1abc",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
