//! The authorization endpoint, the person's Okta sign-in, and consent.
//!
//! 1. `GET /authorize` checks the client (for a URL client id, its metadata document:
//!    [`crate::cimd`]), its redirect URI (exact; RFC 6749 §4.1.2.1: a bad client, document
//!    or redirect URI is shown to the person, never redirected to), PKCE (S256 only:
//!    no challenge, no code), the resource (ours only, RFC 8707) and the scopes; the request
//!    is stored as a pending authorization, a signed cookie binds it to this browser, and the
//!    person goes to Okta (authorization code, PKCE, nonce, our confidential client).
//! 2. `GET /oauth/callback`: back from Okta, the sign-in is checked like the connect page's
//!    and the server's policy must admit the person. A person who approved this client for
//!    these scopes before gets a code at once; anyone else sees the consent page.
//! 3. `POST /oauth/consent`: the decision, with the pending authorization's CSRF token and
//!    cookie; approval is remembered per person and client.
//!
//! Every answer to the client carries `state` and `iss` (RFC 9207).

use std::sync::Arc;

use askama::Template;
use axum::{
    Form,
    extract::{
        Query, State,
        rejection::{FormRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use zebrunner_identity::Identity;
use zebrunner_pages::{cookies::random_token, headers, render, request_cookies, with_cookies};
use zebrunner_storage::oauth::{CodeRow, PendingRow};

use crate::{AuthorizationServer, Error, cimd, hash, now, register::Client};

/// How long a person may take at Okta and on the consent page.
const PENDING_SECS: i64 = 10 * 60;
const PENDING_COOKIE: &str = "zmcp-authorize";
const MAX_PARAM: usize = 2048;

/// An authorization request, as stored while the person signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
}

/// What `/authorize` reads.
#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    resource: Option<String>,
}

#[derive(Template)]
#[template(path = "oauth/problem.html")]
struct ProblemPage<'a> {
    notice: Option<&'a str>,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct ConsentPage<'a> {
    notice: Option<&'a str>,
    problem: Option<&'a str>,
    client_name: &'a str,
    client_id: &'a str,
    redirect_host: &'a str,
    /// For a client ID metadata document: the host that publishes it.
    document_host: Option<&'a str>,
    /// Whether the browser returns to this computer (any program there could be the client).
    loopback_redirect: bool,
    scopes: Vec<(&'a str, &'a str)>,
    who: &'a str,
    csrf: &'a str,
}

/// A page for the person, when the client cannot be told (or the sign-in broke).
fn problem(status: StatusCode, text: &str) -> Response {
    render(
        status,
        &ProblemPage {
            notice: None,
            problem: Some(text),
        },
    )
}

/// The page for a client whose metadata document cannot be used (never a redirect: its
/// redirect URIs are what could not be verified).
fn unusable_document(description: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        &format!(
            "This application identifies itself by a URL, and {description}. \
             The sign-in stops here; tell the application's developers."
        ),
    )
}

/// Back to the client with `params`, `state` and `iss`.
fn to_client(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    iss: &str,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The application's redirect address is invalid.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", iss);
    }
    Redirect::to(url.as_str()).into_response()
}

fn bounded(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .filter(|v| !v.is_empty() && v.len() <= MAX_PARAM)
}

/// What each scope lets the application do, for the consent page.
fn describe_scope(scope: &str) -> &'static str {
    if scope.ends_with(":write") {
        "change test cases, suites and runs in Zebrunner as you (each change previewed first)"
    } else if scope.ends_with(":read") {
        "read your Zebrunner projects, test cases, runs and launches as you"
    } else {
        "a permission of this server"
    }
}

/// `GET /authorize`.
pub async fn authorize(
    State(server): State<Arc<AuthorizationServer>>,
    query: Result<Query<AuthorizeQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The application's sign-in request is malformed (a parameter is repeated or unreadable). Go back to it and connect again.",
        );
    };
    let Some(client_id) = bounded(&query.client_id) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The application did not say who it is (no client_id). Go back to it and try again.",
        );
    };
    let client = match server.client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "This application is not registered here (or its registration expired). Go back to it and connect again.",
            );
        }
        Err(Error::Invalid { description, .. }) => return unusable_document(&description),
        Err(error) => return error.into_response(),
    };
    let Some(redirect_uri) = client.redirect_uri(bounded(&query.redirect_uri)) else {
        return problem(
            StatusCode::BAD_REQUEST,
            if cimd::is_document_url(&client.client_id) {
                "The application asked to return to an address its client metadata document does not list, so the sign-in stops here."
            } else {
                "The application asked to return to an address it did not register, so the sign-in stops here."
            },
        );
    };
    let state = bounded(&query.state);
    let fail = |error: &str, description: &str| {
        to_client(
            &redirect_uri,
            &[("error", error), ("error_description", description)],
            state,
            &server.issuer,
        )
    };
    if query.response_type.as_deref() != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(challenge) = bounded(&query.code_challenge) else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if query.code_challenge_method.as_deref() != Some("S256") {
        return fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not accepted)",
        );
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        );
    }
    let resource = match bounded(&query.resource) {
        None => server.resource.clone(),
        Some(r) if r.trim_end_matches('/') == server.resource => server.resource.clone(),
        Some(_) => {
            return fail(
                "invalid_target",
                "this server issues tokens only for its own MCP endpoint",
            );
        }
    };
    let scope = match server.granted_scope(query.scope.as_deref()) {
        Ok(scope) => scope,
        Err(unknown) => {
            return fail(
                "invalid_scope",
                &format!(
                    "unknown scope {unknown:?}; this server offers {}",
                    server.scopes.join(" ")
                ),
            );
        }
    };
    let pending = Pending {
        client_id: client.client_id.clone(),
        redirect_uri,
        state: state.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        scope,
        resource,
    };
    let id = random_token();
    let row = PendingRow {
        id_hash: hash(&id),
        client_id: client.client_id,
        request: match serde_json::to_string(&pending) {
            Ok(json) => json,
            Err(e) => return Error::Keys(e.to_string()).into_response(),
        },
        user_key: None,
        identity: None,
        expires_at: now() + PENDING_SECS,
    };
    if let Err(error) = server.store.put_pending(&row, now()).await {
        return Error::from(error).into_response();
    }
    let cookie = server.cookies.set_cookie(
        PENDING_COOKIE,
        &server.cookies.seal("authorize", &id),
        PENDING_SECS,
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(
        server.cookies.derive("pkce", &id).as_bytes(),
    ));
    let to_okta =
        server
            .sign_in
            .authorization_url(&id, &server.cookies.derive("nonce", &id), &challenge);
    with_cookies(Redirect::to(to_okta.as_str()).into_response(), &[cookie])
}

impl AuthorizationServer {
    /// The scopes granted for a request: those asked for (default the read scope), each one
    /// we offer; `offline_access` is accepted and implied (refresh tokens are always issued).
    fn granted_scope(&self, requested: Option<&str>) -> Result<String, String> {
        let mut granted: Vec<&str> = Vec::new();
        for scope in requested.unwrap_or_default().split_whitespace() {
            if scope == "offline_access" {
                continue;
            }
            if !self.scopes.iter().any(|s| s == scope) {
                return Err(scope.chars().take(64).collect());
            }
            if !granted.contains(&scope) {
                granted.push(scope);
            }
        }
        if granted.is_empty()
            && let Some(read) = self.scopes.first()
        {
            granted.push(read);
        }
        Ok(granted.join(" "))
    }

    /// The pending authorization this browser started, by the id in its cookie.
    fn pending_id(&self, headers: &HeaderMap) -> Option<String> {
        self.cookies
            .read(request_cookies(headers), PENDING_COOKIE)
            .and_then(|c| self.cookies.open::<String>("authorize", c))
    }

    /// A code for `pending` as `identity`, and the redirect that carries it.
    async fn issue_code(&self, pending: &Pending, identity: &Identity) -> Response {
        let code = random_token();
        let row = CodeRow {
            code_hash: hash(&code),
            client_id: pending.client_id.clone(),
            user_key: identity.user_key.clone(),
            identity: serde_json::to_string(identity).unwrap_or_default(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            resource: pending.resource.clone(),
            scope: pending.scope.clone(),
            family_id: random_token(),
            expires_at: now() + i64::try_from(self.config.code_ttl_secs).unwrap_or(60),
        };
        if let Err(error) = self.store.put_code(&row, now()).await {
            return Error::from(error).into_response();
        }
        tracing::info!(client_id = %pending.client_id, user_key = %identity.user_key, "authorization code issued");
        let clear = self.cookies.set_cookie(PENDING_COOKIE, "", 0);
        with_cookies(
            to_client(
                &pending.redirect_uri,
                &[("code", &code)],
                pending.state.as_deref(),
                &self.issuer,
            ),
            &[clear],
        )
    }

    async fn consent_page(&self, id: &str, pending: &Pending, identity: &Identity) -> Response {
        let client = match self.client(&pending.client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "This application's registration expired meanwhile. Go back to it and connect again.",
                );
            }
            Err(Error::Invalid { description, .. }) => return unusable_document(&description),
            Err(error) => return error.into_response(),
        };
        let host = Url::parse(&pending.redirect_uri)
            .ok()
            .map(|u| match u.host_str() {
                Some(host) => host.to_owned(),
                None => format!("{}:", u.scheme()),
            })
            .unwrap_or_default();
        let who = identity
            .email
            .clone()
            .or(identity.name.clone())
            .unwrap_or_else(|| identity.subject.clone());
        let name = client_label(&client);
        let document_host = cimd::document_host(&client.client_id);
        let loopback_redirect = Url::parse(&pending.redirect_uri).is_ok_and(|u| match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        });
        let mut page = render(
            StatusCode::OK,
            &ConsentPage {
                notice: None,
                problem: None,
                client_name: &name,
                client_id: &client.client_id,
                redirect_host: &host,
                document_host: document_host.as_deref(),
                loopback_redirect,
                scopes: pending
                    .scope
                    .split(' ')
                    .map(|s| (s, describe_scope(s)))
                    .collect(),
                who: &who,
                csrf: &self.cookies.derive("consent", id),
            },
        );
        // The answer to this form redirects to the application: browsers hold that redirect to
        // the page's form-action, so the application's origin (or app scheme) joins 'self'.
        let target = Url::parse(&pending.redirect_uri)
            .ok()
            .map(|u| match u.scheme() {
                "http" | "https" => u.origin().ascii_serialization(),
                scheme => format!("{scheme}:"),
            });
        if let Some(policy) = target.as_deref().and_then(headers::policy_with_form_target) {
            page.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        page
    }
}

fn client_label(client: &Client) -> String {
    client.display_name()
}

/// What Okta sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// `GET /oauth/callback`.
pub async fn callback(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    // A sign-in to the applications page (`/oauth/apps`) comes back here too.
    if let Ok(Query(q)) = &query
        && let Some(state) = q.state.as_deref()
        && crate::apps::started_here(&server, &headers, state)
    {
        let returned = crate::apps::Returned {
            code: q.code.as_deref(),
            state,
            iss: q.iss.as_deref(),
            error: q.error.as_deref(),
        };
        return crate::apps::finish_sign_in(&server, &headers, returned).await;
    }
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The sign-in answer is malformed. Go back to the application and connect again.",
        );
    };
    let Some(id) = server
        .pending_id(&headers)
        .filter(|id| Some(id.as_str()) == query.state.as_deref())
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser, or took too long. Go back to the application and connect again.",
        );
    };
    let pending_row = match server.store.pending(&hash(&id), now()).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "This sign-in took too long. Go back to the application and connect again.",
            );
        }
        Err(error) => return Error::from(error).into_response(),
    };
    let Ok(pending) = serde_json::from_str::<Pending>(&pending_row.request) else {
        return Error::Keys("a pending authorization does not parse".into()).into_response();
    };
    let deny = |description: &str| {
        to_client(
            &pending.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", description),
            ],
            pending.state.as_deref(),
            &server.issuer,
        )
    };
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != server.sign_in_issuer())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "The sign-in answer came from an unexpected issuer.",
        );
    }
    if query.error.is_some() {
        return deny("the sign-in at the identity provider was cancelled or refused");
    }
    let Some(code) = bounded(&query.code) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The sign-in answer had no code. Go back to the application and connect again.",
        );
    };
    let signed_in = match server
        .sign_in
        .finish(
            code,
            &server.cookies.derive("pkce", &id),
            &server.cookies.derive("nonce", &id),
        )
        .await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::warn!(%error, "broker sign-in failed");
            return problem(
                StatusCode::BAD_GATEWAY,
                "The sign-in could not be completed. Go back to the application and connect again; if it keeps failing, tell the administrator of this server.",
            );
        }
    };
    let mut identity = signed_in.identity;
    identity.email = identity.email.or(signed_in.person.email);
    identity.name = identity.name.or(signed_in.person.name);
    if let Err(reason) = (server.admit)(&identity) {
        tracing::info!(user_key = %identity.user_key, "broker sign-in refused by the policy");
        return deny(&format!("you may not use this server: {reason}"));
    }
    // The person is known from here on: the consent page and the connect step read them
    // from the pending authorization.
    let identity_json = serde_json::to_string(&identity).unwrap_or_default();
    match server
        .store
        .set_pending_identity(&hash(&id), &identity.user_key, &identity_json, now())
        .await
    {
        Ok(true) => {}
        Ok(false) => return too_long(),
        Err(error) => return Error::from(error).into_response(),
    }
    server
        .after_sign_in(&id, &pending, &identity, Some(&signed_in.id_token))
        .await
}

/// A pending authorization's request and the person who signed in for it (`None` before the
/// sign-in finished).
fn signed_in_request(row: &PendingRow) -> Option<(Pending, Identity)> {
    let pending = serde_json::from_str::<Pending>(&row.request).ok()?;
    let identity = serde_json::from_str::<Identity>(row.identity.as_deref()?).ok()?;
    Some((pending, identity))
}

fn too_long() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "This sign-in took too long. Go back to the application and connect again.",
    )
}

impl AuthorizationServer {
    /// The person signed in for `pending`: connect first if they must (once), then a code at
    /// once if they approved this client for these scopes before, else the consent page.
    async fn after_sign_in(
        &self,
        id: &str,
        pending: &Pending,
        identity: &Identity,
        id_token: Option<&SecretString>,
    ) -> Response {
        if let Some(step) = &self.connect {
            match step.connected(identity, id_token).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(user_key = %identity.user_key, client_id = %pending.client_id, "authorization waits for the person to connect Zebrunner");
                    return step.begin(identity);
                }
                Err(reason) => {
                    tracing::warn!(%reason, "could not tell whether a person has connected Zebrunner");
                    return problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Your Zebrunner connection could not be checked just now. Wait a minute, then go back to the application and connect again.",
                    );
                }
            }
        }
        match self
            .store
            .consent(&identity.user_key, &pending.client_id)
            .await
        {
            Ok(Some(consent)) if covers(&consent.scope, &pending.scope) => {
                let _ = self.store.take_pending(&hash(id), now()).await;
                self.issue_code(pending, identity).await
            }
            Ok(_) => self.consent_page(id, pending, identity).await,
            Err(error) => Error::from(error).into_response(),
        }
    }
}

/// `GET /oauth/resume`: back from the connect page, the authorization this browser started
/// goes on where it waited.
pub async fn resume(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = server.pending_id(&headers) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "No application is waiting for you in this browser. Go back to the application and connect again.",
        );
    };
    let row = match server.store.pending(&hash(&id), now()).await {
        Ok(Some(row)) => row,
        Ok(None) => return too_long(),
        Err(error) => return Error::from(error).into_response(),
    };
    let Some((pending, identity)) = signed_in_request(&row) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Sign in first. Go back to the application and connect again.",
        );
    };
    server.after_sign_in(&id, &pending, &identity, None).await
}

/// Whether an earlier approval of `approved` covers `requested` (space-separated scopes).
fn covers(approved: &str, requested: &str) -> bool {
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| approved.split(' ').any(|a| a == s))
}

impl AuthorizationServer {
    /// The issuer our sign-in client talks to (Okta), for the callback's `iss`.
    fn sign_in_issuer(&self) -> &str {
        self.sign_in.issuer()
    }
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    csrf: Option<String>,
    decision: Option<String>,
}

/// `POST /oauth/consent`.
pub async fn consent(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return problem(
            StatusCode::BAD_REQUEST,
            "This decision could not be read. Go back to the application and connect again.",
        );
    };
    let origin = Url::parse(&server.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    if !headers::same_origin(&headers, &origin) {
        return problem(
            StatusCode::FORBIDDEN,
            "This decision was sent from another site, so it was refused.",
        );
    }
    let Some(id) = server.pending_id(&headers) else {
        return problem(
            StatusCode::FORBIDDEN,
            "This decision does not belong to a sign-in in this browser. Go back to the application and connect again.",
        );
    };
    if !form
        .csrf
        .as_deref()
        .is_some_and(|t| server.cookies.verify_derived("consent", &id, t))
    {
        return problem(
            StatusCode::FORBIDDEN,
            "This form is out of date or was not sent from this page, so it was refused.",
        );
    }
    let row = match server.store.take_pending(&hash(&id), now()).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "This sign-in took too long or was already answered. Go back to the application and connect again.",
            );
        }
        Err(error) => return Error::from(error).into_response(),
    };
    let Some((pending, identity)) = signed_in_request(&row) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Sign in first. Go back to the application and connect again.",
        );
    };
    match form.decision.as_deref() {
        Some("approve") => {
            if let Err(error) = server
                .store
                .record_consent(
                    &identity.user_key,
                    &pending.client_id,
                    &pending.scope,
                    now(),
                )
                .await
            {
                return Error::from(error).into_response();
            }
            server.issue_code(&pending, &identity).await
        }
        _ => to_client(
            &pending.redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "the person did not allow the application",
                ),
            ],
            pending.state.as_deref(),
            &server.issuer,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_covers_the_scopes_it_named() {
        assert!(covers("zebrunner:read zebrunner:write", "zebrunner:read"));
        assert!(!covers("zebrunner:read", "zebrunner:read zebrunner:write"));
        assert!(covers("zebrunner:read", ""));
    }
}
