//! `POST /token` (RFC 6749 §3.2) and `POST /revoke` (RFC 7009).
//!
//! - `authorization_code`: the code is single use (one conditional update in the store); a
//!   second use revokes everything the first one issued (RFC 6749 §4.1.2). The client id,
//!   redirect URI and PKCE verifier (S256, RFC 7636 §4.6) must match the authorization.
//! - `refresh_token`: every use rotates the token; presenting a rotated one again revokes
//!   the whole family (OAuth 2.1 §4.3.1, refresh-token reuse detection).
//!
//! A client whose id is the URL of its metadata document ([`crate::cimd`]) must still have a
//! usable document at `/token`; `/revoke` never fetches one (revoking must not depend on a
//! third party being up), the refresh token itself is the proof.
//!
//! Access tokens are JWTs (RFC 9068, `typ` `at+jwt`) signed with our key, for our resource
//! only, carrying the person's claims as Okta's access tokens do (`uid`, `sub`, `email`,
//! `name`, groups, `scp`, `cid`), so the validator maps them to the same user key and
//! policy. Refresh tokens and codes are random, stored only as hashes.

use std::sync::Arc;

use axum::{
    Form, Json,
    extract::{State, rejection::FormRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use zebrunner_identity::Identity;
use zebrunner_pages::cookies::random_token;
use zebrunner_storage::oauth::{Redeem, RefreshRow, Rotate};

use crate::client_auth::Presented;
use crate::config::ConfidentialGrant;
use crate::{AuthorizationServer, Error, cimd, hash, now, oauth_error};

/// The token endpoint's form (RFC 6749 §4.1.3, §4.4, §6; RFC 8693 §2.1; RFC 7523 §2.1).
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    pub(crate) grant_type: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) code_verifier: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) subject_token: Option<String>,
    pub(crate) subject_token_type: Option<String>,
    pub(crate) actor_token: Option<String>,
    pub(crate) requested_token_type: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) assertion: Option<String>,
}

pub(crate) const CLIENT_CREDENTIALS: &str = "client_credentials";
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// `POST /token`.
pub async fn token(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    // RFC 6749 §3.2: the body is application/x-www-form-urlencoded; anything else (JSON, a
    // repeated parameter) gets the RFC's JSON error, not the framework's plain text.
    let Ok(Form(form)) = form else {
        return invalid_request(
            "send the parameters once each, as application/x-www-form-urlencoded (RFC 6749 §3.2)",
        );
    };
    let client = match server.authenticate(
        &headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    ) {
        Ok(client) => client,
        Err(refused) => return refused.response(),
    };
    let Some(grant_type) = form.grant_type.as_deref() else {
        return invalid_request("grant_type is required");
    };
    let result = match (grant_type, client) {
        ("authorization_code" | "refresh_token", Presented::Public(client_id)) => {
            if let Err(refused) = server.usable_public_client(client_id).await {
                return refused;
            }
            if grant_type == "authorization_code" {
                server.redeem_code(client_id, &form).await
            } else {
                server.refresh(client_id, &form).await
            }
        }
        (CLIENT_CREDENTIALS, Presented::Confidential(client))
            if client.may(ConfidentialGrant::ClientCredentials) =>
        {
            server.client_credentials(client, &form).await
        }
        (TOKEN_EXCHANGE, Presented::Confidential(client))
            if client.may(ConfidentialGrant::TokenExchange) =>
        {
            server.exchange(client, &form).await
        }
        (JWT_BEARER, Presented::Confidential(client))
            if client.may(ConfidentialGrant::JwtBearer) =>
        {
            server.jwt_bearer(client, &form).await
        }
        (
            "authorization_code" | "refresh_token" | CLIENT_CREDENTIALS | TOKEN_EXCHANGE
            | JWT_BEARER,
            _,
        ) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                &format!("this client may not use the {grant_type} grant"),
            );
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!(
                    "grant_type must be one of authorization_code, refresh_token, \
                     {CLIENT_CREDENTIALS}, {TOKEN_EXCHANGE}, {JWT_BEARER}"
                ),
            );
        }
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

impl AuthorizationServer {
    /// `resource`, if the request names one, must be our MCP endpoint (RFC 8707).
    pub(crate) fn check_resource(&self, form: &TokenForm) -> Result<(), Error> {
        match form.resource.as_deref() {
            Some(resource) if resource.trim_end_matches('/') != self.resource => {
                Err(Error::Invalid {
                    error: "invalid_target",
                    description: "this server issues tokens only for its own MCP endpoint".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// A public client gets tokens only while it is usable: a client identified by its
    /// metadata document only while the document (cached as its headers allow, else fetched
    /// again) still describes it. (Through `client`: an operator's client with a URL id is
    /// not fetched.)
    async fn usable_public_client(&self, client_id: &str) -> Result<(), Response> {
        if !cimd::is_document_url(client_id) {
            return Ok(());
        }
        match self.client(client_id).await {
            Ok(_) => Ok(()),
            // 400, not 401: a 401 must carry a WWW-Authenticate challenge, and public clients
            // have no authentication scheme to be challenged with (RFC 6749 §5.2 allows 400).
            Err(Error::Invalid { description, .. }) => Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                &description,
            )),
            Err(other) => Err(other.into_response()),
        }
    }
}

/// What tokens are issued for: one grant (refresh-token family) of one person to one client,
/// with its scopes and resource.
#[derive(Clone, Copy)]
pub(crate) struct Grant<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) family: &'a str,
    pub(crate) identity: &'a Identity,
    pub(crate) scope: &'a str,
    pub(crate) resource: &'a str,
}

pub(crate) fn grant_error(description: impl Into<String>) -> Error {
    Error::Invalid {
        error: "invalid_grant",
        description: description.into(),
    }
}

impl AuthorizationServer {
    async fn redeem_code(&self, client_id: &str, form: &TokenForm) -> Result<Response, Error> {
        self.check_resource(form)?;
        let code = form
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 200)
            .ok_or_else(|| grant_error("code is required"))?;
        let row = match self.store.redeem_code(&hash(code), now()).await? {
            Redeem::Fresh(row) => row,
            Redeem::Reused { .. } => {
                // RFC 6749 §4.1.2: a code used twice revokes what it issued (the store did).
                tracing::warn!(
                    client_id,
                    "an authorization code was used twice; its tokens are revoked"
                );
                return Err(grant_error("the code was already used"));
            }
            Redeem::Expired => return Err(grant_error("the code expired; authorize again")),
            Redeem::Unknown => return Err(grant_error("unknown code")),
        };
        if row.client_id != client_id {
            return Err(grant_error("the code was issued to another client"));
        }
        if form.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            return Err(grant_error(
                "redirect_uri differs from the authorization request's",
            ));
        }
        let verifier = form.code_verifier.as_deref().unwrap_or_default();
        if !(43..=128).contains(&verifier.len())
            || !verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return Err(grant_error(
                "code_verifier is missing or malformed (RFC 7636 §4.1)",
            ));
        }
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if challenge != row.code_challenge {
            return Err(grant_error(
                "code_verifier does not match the code_challenge",
            ));
        }
        let identity: Identity =
            serde_json::from_str(&row.identity).map_err(|e| Error::Keys(e.to_string()))?;
        // A reuse racing this redeem may have revoked (and so created) the family already.
        if !self
            .store
            .start_family(&row.family_id, client_id, &identity.user_key, now())
            .await?
        {
            return Err(grant_error("the code was already used"));
        }
        let _ = self
            .store
            .touch_client(client_id, now(), self.registration_keep())
            .await;
        self.tokens(&Grant {
            client_id,
            family: &row.family_id,
            identity: &identity,
            scope: &row.scope,
            resource: &row.resource,
        })
        .await
    }

    async fn refresh(&self, client_id: &str, form: &TokenForm) -> Result<Response, Error> {
        self.check_resource(form)?;
        let presented = form
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| grant_error("refresh_token is required"))?;
        let presented_hash = hash(presented);
        let Some(current) = self.store.refresh(&presented_hash).await? else {
            return Err(grant_error("unknown refresh token"));
        };
        if current.client_id != client_id {
            return Err(grant_error(
                "the refresh token was issued to another client",
            ));
        }
        let next = random_token();
        let next_row = RefreshRow {
            token_hash: hash(&next),
            expires_at: now() + self.refresh_ttl(),
            created_at: now(),
            rotated_at: None,
            ..current
        };
        let old = match self
            .store
            .rotate_refresh(&presented_hash, &next_row, now())
            .await?
        {
            Rotate::Rotated(old) => old,
            Rotate::Reused { .. } => {
                tracing::warn!(
                    client_id,
                    "a rotated refresh token was used again; its family is revoked"
                );
                return Err(grant_error(
                    "the refresh token was already used; sign in again",
                ));
            }
            Rotate::Revoked => return Err(grant_error("the grant was revoked; sign in again")),
            Rotate::Expired => return Err(grant_error("the refresh token expired; sign in again")),
            Rotate::Unknown => return Err(grant_error("unknown refresh token")),
        };
        let identity: Identity =
            serde_json::from_str(&old.identity).map_err(|e| Error::Keys(e.to_string()))?;
        let access = self.access_token(&Grant {
            client_id,
            family: &old.family_id,
            identity: &identity,
            scope: &old.scope,
            resource: &old.resource,
        })?;
        Ok(token_response(
            &access,
            self.access_ttl(),
            Some(&next),
            &old.scope,
        ))
    }

    /// An access token and no refresh token for `identity`, from `grant_type` (a grant of
    /// the operator's confidential clients). The token belongs to a grant (family) of its
    /// own, so revoking by person or client stops it at once; the issuance is audited first.
    pub(crate) async fn access_only(
        &self,
        grant_type: &'static str,
        client_id: &str,
        identity: &Identity,
        scope: &str,
    ) -> Result<Response, Error> {
        let family = random_token();
        self.store
            .start_family(&family, client_id, &identity.user_key, now())
            .await?;
        let access = self.access_token(&Grant {
            client_id,
            family: &family,
            identity,
            scope,
            resource: &self.resource,
        })?;
        self.issued(crate::events::GrantEvent::issued(
            grant_type,
            client_id,
            identity,
            "access token",
        ))
        .await?;
        Ok(token_response(&access, self.access_ttl(), None, scope))
    }

    /// A fresh access token and the first refresh token of `grant`.
    async fn tokens(&self, grant: &Grant<'_>) -> Result<Response, Error> {
        let Grant {
            client_id,
            family,
            identity,
            scope,
            resource,
        } = *grant;
        let refresh = random_token();
        self.store
            .put_refresh(&RefreshRow {
                token_hash: hash(&refresh),
                family_id: family.to_owned(),
                client_id: client_id.to_owned(),
                user_key: identity.user_key.clone(),
                identity: serde_json::to_string(identity)
                    .map_err(|e| Error::Keys(e.to_string()))?,
                scope: scope.to_owned(),
                resource: resource.to_owned(),
                expires_at: now() + self.refresh_ttl(),
                created_at: now(),
                rotated_at: None,
            })
            .await?;
        let access = self.access_token(grant)?;
        tracing::info!(client_id, user_key = %identity.user_key, "tokens issued");
        Ok(token_response(
            &access,
            self.access_ttl(),
            Some(&refresh),
            scope,
        ))
    }

    /// Our access token for `identity`: claims shaped like Okta's, so the validator gives the
    /// person the same user key as with identity `oidc` (`uid` when they had one, else `sub`),
    /// and `grant_id`, the grant it belongs to, so that revoking the grant stops it at once.
    pub(crate) fn access_token(&self, grant: &Grant<'_>) -> Result<String, Error> {
        let Grant {
            client_id,
            family,
            identity,
            scope,
            resource,
        } = *grant;
        let issued = now();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": resource,
            "sub": identity.subject,
            "iat": issued,
            "exp": issued + self.access_ttl(),
            "jti": random_token(),
            "cid": client_id,
            "client_id": client_id,
            "grant_id": family,
            "scp": scope.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        });
        if let Some(uid) = identity.user_key.strip_prefix("uid:") {
            claims["uid"] = json!(uid);
        }
        if let Some(email) = &identity.email {
            claims["email"] = json!(email);
        }
        if let Some(name) = &identity.name {
            claims["name"] = json!(name);
        }
        claims[self.groups_claim.as_str()] = json!(identity.groups);
        self.keys.sign(&claims)
    }

    pub(crate) fn access_ttl(&self) -> i64 {
        i64::try_from(self.config.access_token_ttl_secs).unwrap_or(3600)
    }

    fn refresh_ttl(&self) -> i64 {
        i64::try_from(self.config.refresh_token_ttl_days.saturating_mul(86_400))
            .unwrap_or(i64::MAX / 2)
    }

    fn registration_keep(&self) -> i64 {
        i64::try_from(self.config.registration_idle_days.saturating_mul(86_400))
            .unwrap_or(i64::MAX / 2)
    }
}

/// A token response (RFC 6749 §5.1); grants that issue no refresh token pass `None`.
pub(crate) fn token_response(
    access: &str,
    expires_in: i64,
    refresh: Option<&str>,
    scope: &str,
) -> Response {
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    no_store(body)
}

/// A JSON answer that no cache keeps (RFC 6749 §5.1).
pub(crate) fn no_store(body: serde_json::Value) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

/// The revocation form (RFC 7009 §2.1).
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
}

/// `POST /revoke`: a refresh token revokes its whole family. Unknown tokens (and access
/// tokens, which expire on their own within their lifetime) get 200 as RFC 7009 §2.2 says.
pub async fn revoke(
    State(server): State<Arc<AuthorizationServer>>,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return invalid_request(
            "send the parameters once each, as application/x-www-form-urlencoded (RFC 7009 §2.1)",
        );
    };
    let Some(token) = form
        .token
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 4096)
    else {
        return invalid_request("token is required");
    };
    let client_id = form.client_id.as_deref().unwrap_or_default();
    match server
        .store
        .revoke_by_refresh(&hash(token), client_id, "revoked by the client", now())
        .await
    {
        Ok(revoked) => {
            if revoked {
                tracing::info!("a grant was revoked by its client");
            }
            (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
        }
        Err(error) => Error::from(error).into_response(),
    }
}
