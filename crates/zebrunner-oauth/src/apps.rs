//! The self-service page (`/oauth/apps`): a person signs in with the company's Okta, sees the
//! applications they allowed to use Zebrunner as them, and revokes any of them.
//!
//! - `GET /oauth/apps`: signed out, a sign-in button; signed in, who they are and a table of
//!   their applications (name, client id or the host publishing its metadata document, where
//!   it returns to, the scopes approved, when, how many live grants and when it last got
//!   tokens), each with a "Revoke" button, and "Sign out".
//! - `GET /oauth/apps/sign-in`: to Okta (authorization code, PKCE S256, nonce), with a random
//!   `state` bound to this browser by a signed cookie; the verifier and the nonce are derived
//!   from it and never leave the server ([`zebrunner_pages::session`]).
//! - Back from Okta at `/oauth/callback` (the one redirect URI our Okta client has): the
//!   authorization flow's callback hands over to `finish_sign_in` when this page's sign-in
//!   cookie holds the answer's `state`. The sign-in is checked as the authorization flow
//!   checks it (`iss`, RFC 9207; the ID and access tokens; the server's policy) and a
//!   30-minute session starts (a signed cookie: user key, e-mail, name, a random session id,
//!   expiry).
//! - `POST /oauth/apps/revoke`: takes back everything the person gave one client
//!   ([`OAuthStore::withdraw`](zebrunner_storage::oauth::OAuthStore::withdraw)): its live
//!   grants are revoked, so its refresh tokens and, at the next request, its access tokens
//!   are refused, and the approval is forgotten. Only ever the session's own user key.
//! - `POST /oauth/apps/sign-out`.
//!
//! Every POST needs the session, its CSRF token (derived from the session id) and no
//! cross-site `Origin` / `Sec-Fetch-Site`.

use std::sync::Arc;

use askama::Template;
use axum::{
    Form, Router,
    extract::{
        Query, State,
        rejection::{FormRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use url::Url;
use zebrunner_pages::{
    render, request_cookies,
    session::{Names, Session, Sessions},
    with_cookies,
};
use zebrunner_storage::oauth::{ConsentRow, GrantRow, MAX_CLIENT_ID_CHARS};

use crate::{AuthorizationServer, cimd, now, register::Client};

/// The page's address.
pub const PAGE: &str = "/oauth/apps";
/// This page's cookies and signing purposes (none shared with the connect page's or the
/// authorization flow's).
const NAMES: Names = Names {
    session: "zmcp-apps",
    sign_in: "zmcp-apps-signin",
    purpose: "apps.",
};
/// Why a grant was revoked, as the store (and `zebrunner-mcp oauth grants`) keeps it.
const REVOKED_BY_PERSON: &str = "revoked by the person on /oauth/apps";
/// The most grants of one person read for the page.
const MAX_GRANTS: u32 = 10_000;

/// The page's routes (the authorization server adds its page headers and body limit).
pub fn routes() -> Router<Arc<AuthorizationServer>> {
    Router::new()
        .route(PAGE, get(show))
        .route("/oauth/apps/sign-in", get(sign_in))
        .route("/oauth/apps/revoke", post(revoke))
        .route("/oauth/apps/sign-out", post(sign_out))
}

/// The signed-in person, as the page shows them.
struct Person {
    who: String,
    csrf: String,
}

/// One application in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct App {
    client_id: String,
    name: String,
    /// For a client ID metadata document: the host publishing it.
    document_host: Option<String>,
    redirect_hosts: Vec<String>,
    scopes: Vec<String>,
    /// When the person approved it, or why there is no date.
    approved: String,
    /// Live grants, in words.
    grants: String,
    last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "oauth/apps.html")]
struct AppsPage<'a> {
    notice: Option<&'a str>,
    problem: Option<&'a str>,
    person: Option<Person>,
    apps: Vec<App>,
}

/// A fixed message after a redirect (`/oauth/apps?notice=…`): the query names one of these,
/// never free text.
fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "signed-out" => Some("You are signed out of this page."),
        _ => None,
    }
}

fn sessions(server: &AuthorizationServer) -> Sessions {
    Sessions::new(server.cookies.clone(), NAMES)
}

/// This server's origin, for the same-origin check of the page's forms.
fn origin(server: &AuthorizationServer) -> String {
    Url::parse(&server.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The signed-out page (a sign-in button), with `notice` or `problem`.
fn signed_out(status: StatusCode, notice: Option<&str>, problem: Option<&str>) -> Response {
    render(
        status,
        &AppsPage {
            notice,
            problem,
            person: None,
            apps: Vec::new(),
        },
    )
}

/// `2026-12-06 23:50 UTC`.
fn readable_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map_or_else(|_| "unknown".to_owned(), zebrunner_pages::readable_time)
}

/// Where a redirect URI returns to, as a person reads it: the host of a web address, or
/// `scheme:` for an application's own scheme (`cursor:`).
fn redirect_host(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    Some(match (url.scheme(), url.host_str()) {
        ("http" | "https", Some(host)) => host.to_owned(),
        (scheme, _) => format!("{scheme}:"),
    })
}

/// The page's table: every client the person approved or holds a live grant with, by name.
fn table(consents: Vec<ConsentRow>, grants: &[GrantRow], clients: &[Client]) -> Vec<App> {
    let mut ids: Vec<&str> = consents.iter().map(|c| c.client_id.as_str()).collect();
    for grant in grants.iter().filter(|g| g.revoked_at.is_none()) {
        if !ids.contains(&grant.client_id.as_str()) {
            ids.push(&grant.client_id);
        }
    }
    let mut apps: Vec<App> = ids
        .into_iter()
        .map(|id| {
            let consent = consents.iter().find(|c| c.client_id == id);
            let client = clients.iter().find(|c| c.client_id == id);
            let of_client = || grants.iter().filter(move |g| g.client_id == id);
            let live = of_client().filter(|g| g.revoked_at.is_none()).count();
            let last_used = of_client()
                .map(|g| g.last_refresh_at.unwrap_or(g.created_at).max(g.created_at))
                .max();
            let mut redirect_hosts: Vec<String> = Vec::new();
            for host in client
                .map(|c| c.redirect_uris.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|u| redirect_host(u))
            {
                if !redirect_hosts.contains(&host) {
                    redirect_hosts.push(host);
                }
            }
            App {
                client_id: id.to_owned(),
                name: client.map_or_else(|| id.to_owned(), Client::display_name),
                document_host: cimd::document_host(id),
                redirect_hosts,
                scopes: consent
                    .map(|c| c.scope.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                approved: consent.map_or_else(
                    || "approval withdrawn".to_owned(),
                    |c| readable_time(c.approved_at),
                ),
                grants: match live {
                    0 => "not signed in".to_owned(),
                    1 => "1 active sign-in".to_owned(),
                    n => format!("{n} active sign-ins"),
                },
                last_used: last_used.map(readable_time),
            }
        })
        .collect();
    apps.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.client_id.cmp(&b.client_id))
    });
    apps
}

/// `client_id` as this page names it, from what this server already knows (the operator's
/// clients, registrations, cached metadata documents): listing never fetches a document.
async fn known_client(server: &AuthorizationServer, client_id: &str) -> Client {
    if let Some(fixed) = server
        .config
        .clients
        .iter()
        .find(|c| c.client_id == client_id)
    {
        return Client {
            client_id: fixed.client_id.clone(),
            client_name: Some(fixed.client_name.clone()),
            redirect_uris: fixed.redirect_uris.clone(),
        };
    }
    let stored = match server.store.client(client_id).await {
        Ok(row) => row.and_then(|row| serde_json::from_str::<Client>(&row.metadata).ok()),
        Err(error) => {
            tracing::warn!(%error, "the applications page could not read a client");
            None
        }
    };
    stored
        .filter(|c| c.client_id == client_id)
        .unwrap_or_else(|| Client {
            client_id: client_id.to_owned(),
            client_name: None,
            redirect_uris: Vec::new(),
        })
}

/// The signed-in page for `session`.
async fn apps_page(
    server: &AuthorizationServer,
    status: StatusCode,
    session: &Session,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let read = async {
        let consents = server.store.consents_of(&session.user_key).await?;
        let grants = server
            .store
            .list_grants(Some(&session.user_key), None, MAX_GRANTS)
            .await?;
        Ok::<_, zebrunner_storage::StorageError>((consents, grants))
    };
    let (consents, grants) = match read.await {
        Ok(read) => read,
        Err(error) => {
            tracing::error!(%error, "the applications page could not read the grants");
            return signed_out(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                Some("Your applications could not be read just now; try again in a minute."),
            );
        }
    };
    let mut clients: Vec<Client> = Vec::new();
    for id in consents
        .iter()
        .map(|c| &c.client_id)
        .chain(grants.iter().map(|g| &g.client_id))
    {
        if !clients.iter().any(|c| &c.client_id == id) {
            clients.push(known_client(server, id).await);
        }
    }
    render(
        status,
        &AppsPage {
            notice,
            problem,
            person: Some(Person {
                who: session.who(),
                csrf: sessions(server).csrf_token(session),
            }),
            apps: table(consents, &grants, &clients),
        },
    )
}

/// A POST's session, after the same-origin and CSRF checks.
fn check_post(
    server: &AuthorizationServer,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Session, Refused> {
    if !zebrunner_pages::headers::same_origin(headers, &origin(server)) {
        return Err(Refused::CrossSite);
    }
    let sessions = sessions(server);
    let session = sessions
        .session(request_cookies(headers), now())
        .ok_or(Refused::SignedOut)?;
    if !csrf.is_some_and(|token| sessions.csrf_ok(&session, token)) {
        return Err(Refused::Csrf(session));
    }
    Ok(session)
}

/// The page for a refused POST: nothing was changed.
async fn refuse(server: &AuthorizationServer, refused: Refused) -> Response {
    match refused {
        Refused::CrossSite => signed_out(
            StatusCode::FORBIDDEN,
            None,
            Some(
                "This form was sent from another site, so it was refused and nothing was \
                 changed. Open this page directly and try again.",
            ),
        ),
        Refused::SignedOut => signed_out(
            StatusCode::UNAUTHORIZED,
            None,
            Some("Your sign-in to this page expired, so nothing was changed; sign in again."),
        ),
        Refused::Csrf(session) => {
            apps_page(
                server,
                StatusCode::FORBIDDEN,
                &session,
                None,
                Some(
                    "This form is out of date or was not sent from this page, so it was \
                     refused and nothing was changed. Try again.",
                ),
            )
            .await
        }
    }
}

/// Why a POST was refused before it was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refused {
    /// `Origin` or `Sec-Fetch-Site` names another site.
    CrossSite,
    /// No valid session cookie.
    SignedOut,
    /// The form's CSRF token is missing or not this session's.
    Csrf(Session),
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    notice: Option<String>,
}

/// `GET /oauth/apps`.
async fn show(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> Response {
    let notice = query
        .ok()
        .and_then(|Query(q)| q.notice)
        .as_deref()
        .and_then(notice_text);
    match sessions(&server).session(request_cookies(&headers), now()) {
        Some(session) => apps_page(&server, StatusCode::OK, &session, notice, None).await,
        None => signed_out(StatusCode::OK, notice, None),
    }
}

/// `GET /oauth/apps/sign-in`.
async fn sign_in(State(server): State<Arc<AuthorizationServer>>) -> Response {
    let sessions = sessions(&server);
    let (state, cookie) = sessions.begin_sign_in(now());
    let url = server.sign_in.authorization_url(
        &state,
        &sessions.nonce(&state),
        &sessions.pkce_challenge(&state),
    );
    with_cookies(Redirect::to(url.as_str()).into_response(), &[cookie])
}

/// Whether this browser started a sign-in to this page whose `state` the callback carries:
/// then the callback is `finish_sign_in`'s.
pub(crate) fn started_here(server: &AuthorizationServer, headers: &HeaderMap, state: &str) -> bool {
    sessions(server).sign_in_matches(request_cookies(headers), state, now())
}

/// What Okta sent back to `/oauth/callback`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Returned<'a> {
    pub code: Option<&'a str>,
    pub state: &'a str,
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Back from Okta: check the sign-in exactly as the authorization flow does, then start a
/// session and show the page.
pub(crate) async fn finish_sign_in(
    server: &AuthorizationServer,
    headers: &HeaderMap,
    returned: Returned<'_>,
) -> Response {
    let sessions = sessions(server);
    let clear = sessions.clear_sign_in();
    let fail = |status: StatusCode, problem: &str| {
        with_cookies(signed_out(status, None, Some(problem)), &[&clear])
    };
    if !sessions.sign_in_matches(request_cookies(headers), returned.state, now()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser, or took too long. Sign in again.",
        );
    }
    if returned
        .iss
        .is_some_and(|iss| iss != server.sign_in.issuer())
    {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer came from an unexpected issuer. Sign in again.",
        );
    }
    if let Some(error) = returned.error {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "applications page sign-in refused by the issuer");
        return fail(
            StatusCode::BAD_REQUEST,
            if error == "access_denied" {
                "The sign-in was cancelled or refused. Sign in again, or ask your administrator \
                 for access to this application."
            } else {
                "The sign-in did not finish. Sign in again; if it keeps failing, tell the \
                 administrator of this server."
            },
        );
    }
    let Some(code) = returned.code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer had no code. Sign in again.",
        );
    };
    let signed_in = match server
        .sign_in
        .finish(
            code,
            &sessions.pkce_verifier(returned.state),
            &sessions.nonce(returned.state),
        )
        .await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::warn!(%error, "applications page sign-in failed");
            return fail(
                StatusCode::BAD_GATEWAY,
                "The sign-in could not be completed. Sign in again; if it keeps failing, tell \
                 the administrator of this server.",
            );
        }
    };
    let mut identity = signed_in.identity;
    identity.email = identity.email.or(signed_in.person.email);
    identity.name = identity.name.or(signed_in.person.name);
    if let Err(reason) = (server.admit)(&identity) {
        tracing::info!(user_key = %identity.user_key, "applications page sign-in refused by the policy");
        return fail(
            StatusCode::FORBIDDEN,
            &format!("You may not use this server: {reason}."),
        );
    }
    tracing::info!(user_key = %identity.user_key, "a person signed in to their applications page");
    let (_, session) =
        sessions.begin_session(identity.user_key, identity.email, identity.name, now());
    with_cookies(Redirect::to(PAGE).into_response(), &[clear, session])
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    csrf: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth/apps/revoke`.
async fn revoke(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return signed_out(
            StatusCode::BAD_REQUEST,
            None,
            Some("This form could not be read, so nothing was changed. Open this page again."),
        );
    };
    let session = match check_post(&server, &headers, form.csrf.as_deref()) {
        Ok(session) => session,
        Err(refused) => return refuse(&server, refused).await,
    };
    let Some(client_id) = form
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= MAX_CLIENT_ID_CHARS)
    else {
        return apps_page(
            &server,
            StatusCode::BAD_REQUEST,
            &session,
            None,
            Some("Choose an application to revoke."),
        )
        .await;
    };
    let name = known_client(&server, client_id).await.display_name();
    // The session's own user key, never one the form names: nobody revokes for another.
    let withdrawn = match server
        .store
        .withdraw(&session.user_key, client_id, REVOKED_BY_PERSON, now())
        .await
    {
        Ok(withdrawn) => withdrawn,
        Err(error) => {
            tracing::error!(%error, "the applications page could not revoke");
            return apps_page(
                &server,
                StatusCode::SERVICE_UNAVAILABLE,
                &session,
                None,
                Some("Nothing could be revoked just now; try again in a minute."),
            )
            .await;
        }
    };
    let notice = if withdrawn.consent || withdrawn.grants > 0 {
        tracing::info!(user_key = %session.user_key, client_id = %cimd::excerpt(client_id, 200), grants = withdrawn.grants, consent = withdrawn.consent, "a person revoked an application");
        format!(
            "Revoked. {name} can no longer use Zebrunner as you: its tokens stopped working, \
             and it has to ask you again."
        )
    } else {
        format!("Nothing to revoke: {name} has no access as you.")
    };
    apps_page(&server, StatusCode::OK, &session, Some(&notice), None).await
}

#[derive(Debug, Deserialize)]
struct PlainForm {
    csrf: Option<String>,
}

/// `POST /oauth/apps/sign-out`.
async fn sign_out(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Response {
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    if let Err(refused) = check_post(&server, &headers, csrf.as_deref()) {
        return refuse(&server, refused).await;
    }
    with_cookies(
        Redirect::to(&format!("{PAGE}?notice=signed-out")).into_response(),
        &[sessions(&server).end_session()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::{HeaderValue, Uri, header};
    use base64::Engine as _;
    use secrecy::SecretString;
    use zebrunner_identity::{IssuerMetadata, LocalKeys, OidcConfig, OidcValidator, SignInClient};
    use zebrunner_pages::CookieKey;
    use zebrunner_storage::Storage;
    use zebrunner_storage::oauth::{ClientKind, ClientRow, OAuthStore, RefreshRow};
    use zebrunner_vault_crypto::KeyRing;

    use crate::{OAuthConfig, Parts, SigningKeys, authorize};

    /// Our public URL, and the Okta stand-in's issuer (nothing listens on port 9).
    const ISSUER: &str = "http://127.0.0.1:9";
    const OKTA: &str = "http://127.0.0.1:9/okta";
    const ALICES_APP: &str = "dcr_alices_app";
    const SHARED_APP: &str = "dcr_shared_app";

    struct Fixture {
        _dir: tempfile::TempDir,
        server: Arc<AuthorizationServer>,
    }

    async fn fixture() -> Fixture {
        zebrunner_identity::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let store = OAuthStore::new(storage);
        let ring = KeyRing::parse(&format!(
            "k1:{}",
            base64::engine::general_purpose::STANDARD.encode([1u8; 32])
        ))
        .unwrap();
        let keys = Arc::new(SigningKeys::new(
            store.clone(),
            Arc::new(ring),
            ISSUER,
            30 * 86_400,
            3600,
        ));
        keys.refresh(now()).await.unwrap();
        let jwks = serde_json::to_vec(&keys.jwks()).unwrap();
        let local: LocalKeys = Arc::new(move || {
            let jwks = jwks.clone();
            Box::pin(async move { Ok(jwks) })
        });
        let mut config = OidcConfig::new(OKTA, format!("{ISSUER}/mcp"));
        config.algorithms = vec![zebrunner_identity::Algorithm::ES256];
        let validator = OidcValidator::with_local_keys(config, IssuerMetadata::local(OKTA), local)
            .await
            .unwrap();
        let sign_in = SignInClient::new(
            validator,
            "zmcp-web",
            SecretString::from("okta-client-secret".to_owned()),
            format!("{ISSUER}/oauth/callback"),
        )
        .unwrap();
        let server = AuthorizationServer::new(Parts {
            config: OAuthConfig::default(),
            issuer: ISSUER.into(),
            store: store.clone(),
            keys,
            sign_in,
            cookies: CookieKey::new(&[9; 32], false),
            admit: Arc::new(|_| Ok(())),
            scopes: vec!["zebrunner:read".into(), "zebrunner:write".into()],
            groups_claim: "groups".into(),
            trusted_issuers: Vec::new(),
            zebrunner: None,
            audit: None,
            connect: None,
        });
        // Alice allowed her app and the shared one; Bob the shared one. One grant each.
        for (id, name) in [(ALICES_APP, "Alice's <App>"), (SHARED_APP, "Shared App")] {
            let metadata = serde_json::json!({
                "client_id": id, "client_name": name,
                "redirect_uris": ["http://127.0.0.1:5000/callback", "http://localhost:5000/cb"],
            });
            store
                .put_client(&ClientRow {
                    client_id: id.into(),
                    kind: ClientKind::Dcr,
                    metadata: metadata.to_string(),
                    created_at: 1_000,
                    last_used_at: None,
                    expires_at: Some(now() + 86_400),
                })
                .await
                .unwrap();
        }
        for (user, client, family) in [
            ("uid:alice", ALICES_APP, "fam-alice-1"),
            ("uid:alice", SHARED_APP, "fam-alice-2"),
            ("uid:bob", SHARED_APP, "fam-bob-1"),
        ] {
            store
                .record_consent(user, client, "zebrunner:read", 1_700_000_000)
                .await
                .unwrap();
            assert!(
                store
                    .start_family(family, client, user, 1_700_000_100)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .put_refresh(&RefreshRow {
                        token_hash: crate::hash(family),
                        family_id: family.into(),
                        client_id: client.into(),
                        user_key: user.into(),
                        identity: "{}".into(),
                        scope: "zebrunner:read".into(),
                        resource: format!("{ISSUER}/mcp"),
                        expires_at: now() + 86_400,
                        created_at: 1_700_000_100,
                        rotated_at: None,
                    })
                    .await
                    .unwrap()
            );
        }
        Fixture { _dir: dir, server }
    }

    /// A signed-in session of `user` and the `Cookie` header carrying it.
    fn signed_in(server: &AuthorizationServer, user: &str) -> (Session, String) {
        let (session, set) = sessions(server).begin_session(
            user.into(),
            Some(format!("{}@example.test", &user[4..])),
            None,
            now(),
        );
        (session, set.split(';').next().unwrap().to_owned())
    }

    /// Headers of a form POST from our own page, with `cookie`.
    fn from_our_page(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers.insert(header::ORIGIN, HeaderValue::from_static(ISSUER));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        headers
    }

    async fn text(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn set_cookies(response: &Response) -> Vec<String> {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    async fn post_revoke(
        server: &Arc<AuthorizationServer>,
        headers: HeaderMap,
        csrf: Option<&str>,
        client_id: &str,
    ) -> (StatusCode, String) {
        let form = RevokeForm {
            csrf: csrf.map(str::to_owned),
            client_id: Some(client_id.to_owned()),
        };
        text(revoke(State(server.clone()), headers, Ok(Form(form))).await).await
    }

    /// Alice's grants and consents, as the store has them.
    async fn alice_has(server: &AuthorizationServer) -> (bool, bool, bool, bool) {
        let store = &server.store;
        (
            store.family_live("fam-alice-1").await.unwrap(),
            store
                .consent("uid:alice", ALICES_APP)
                .await
                .unwrap()
                .is_some(),
            store.family_live("fam-alice-2").await.unwrap(),
            store
                .consent("uid:alice", SHARED_APP)
                .await
                .unwrap()
                .is_some(),
        )
    }

    const ALL: (bool, bool, bool, bool) = (true, true, true, true);

    fn show_query(uri: &'static str) -> Result<Query<ShowQuery>, QueryRejection> {
        Query::try_from_uri(&Uri::from_static(uri))
    }

    #[tokio::test]
    async fn signed_out_the_page_offers_sign_in_only() {
        let f = fixture().await;
        let (status, page) = text(
            show(
                State(f.server.clone()),
                HeaderMap::new(),
                show_query("/oauth/apps"),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"href="/oauth/apps/sign-in""#), "{page}");
        assert!(
            !page.contains("<table") && !page.contains("<form"),
            "{page}"
        );
        // A notice is one of the fixed texts, never what the query says.
        let (_, page) = text(
            show(
                State(f.server.clone()),
                HeaderMap::new(),
                show_query("/oauth/apps?notice=%3Cb%3Ehi"),
            )
            .await,
        )
        .await;
        assert!(!page.contains("id=\"notice\"") && !page.contains("<b>hi"));
        // A forged or foreign cookie is no session.
        let (_, cookie) = signed_in(&f.server, "uid:alice");
        let forged = cookie.replace("zmcp-apps=", "zmcp-apps=x");
        let (_, page) = text(
            show(
                State(f.server.clone()),
                from_our_page(&forged),
                show_query("/oauth/apps"),
            )
            .await,
        )
        .await;
        assert!(page.contains("/oauth/apps/sign-in") && !page.contains("<table"));
    }

    #[tokio::test]
    async fn sign_in_goes_to_okta_with_pkce_s256_and_a_state_bound_to_this_browser() {
        let f = fixture().await;
        let response = sign_in(State(f.server.clone())).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookies = set_cookies(&response);
        assert_eq!(cookies.len(), 1);
        assert!(cookies[0].starts_with("zmcp-apps-signin="), "{cookies:?}");
        assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Lax"));
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        let to_okta = Url::parse(location).unwrap();
        assert!(
            location.starts_with(&format!("{OKTA}/authorize?")),
            "{location}"
        );
        let q: std::collections::HashMap<_, _> = to_okta.query_pairs().into_owned().collect();
        let state = q["state"].clone();
        let s = sessions(&f.server);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], s.pkce_challenge(&state));
        assert_eq!(q["nonce"], s.nonce(&state));
        assert_eq!(q["redirect_uri"], format!("{ISSUER}/oauth/callback"));
        assert_eq!(q["response_type"], "code");
        assert!(
            !location.contains(&s.pkce_verifier(&state)),
            "the verifier stays here"
        );
        let mut browser = HeaderMap::new();
        browser.insert(
            header::COOKIE,
            HeaderValue::from_str(cookies[0].split(';').next().unwrap()).unwrap(),
        );
        assert!(started_here(&f.server, &browser, &state));
        assert!(!started_here(&f.server, &browser, "another-state"));
        assert!(!started_here(&f.server, &HeaderMap::new(), &state));
    }

    /// The callback at `/oauth/callback?<query>` with the browser's `headers`.
    async fn callback(
        server: &Arc<AuthorizationServer>,
        headers: HeaderMap,
        query: &str,
    ) -> (StatusCode, Vec<String>, String) {
        let uri: Uri = format!("/oauth/callback?{query}").parse().unwrap();
        let response =
            authorize::callback(State(server.clone()), headers, Query::try_from_uri(&uri)).await;
        let cookies = set_cookies(&response);
        let (status, body) = text(response).await;
        (status, cookies, body)
    }

    #[tokio::test]
    async fn the_callback_hands_this_pages_sign_ins_over_and_checks_them() {
        let f = fixture().await;
        let (state, set) = sessions(&f.server).begin_sign_in(now());
        let mut browser = HeaderMap::new();
        browser.insert(
            header::COOKIE,
            HeaderValue::from_str(set.split(';').next().unwrap()).unwrap(),
        );
        let cleared = |cookies: &[String]| {
            cookies
                .iter()
                .any(|c| c.starts_with("zmcp-apps-signin=;") && c.contains("Max-Age=0"))
        };
        // Another issuer's answer (RFC 9207): refused, on this page, the sign-in cookie gone.
        let (status, cookies, page) = callback(
            &f.server,
            browser.clone(),
            &format!("code=c&state={state}&iss=https%3A%2F%2Fevil.example"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("unexpected issuer") && page.contains("/oauth/apps/sign-in"));
        assert!(cleared(&cookies), "{cookies:?}");
        // Cancelled at Okta.
        let (status, _, page) = callback(
            &f.server,
            browser.clone(),
            &format!("error=access_denied&state={state}&iss={OKTA}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("cancelled or refused"), "{page}");
        // No code.
        let (status, _, page) =
            callback(&f.server, browser.clone(), &format!("state={state}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("had no code"), "{page}");
        // A code goes to Okta's token endpoint (unreachable here): no session.
        let (status, cookies, page) =
            callback(&f.server, browser.clone(), &format!("code=c&state={state}")).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{page}");
        assert!(
            !cookies.iter().any(|c| c.starts_with("zmcp-apps=")),
            "{cookies:?}"
        );
        assert!(!page.contains("c&state"), "no code or state echoed");
        // Without this browser's cookie, or with another state, it is not this page's: the
        // authorization flow answers as before.
        let (status, _, page) = callback(
            &f.server,
            HeaderMap::new(),
            &format!("code=c&state={state}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("Go back to the application"), "{page}");
        let (_, _, page) = callback(&f.server, browser, "code=c&state=other").await;
        assert!(page.contains("Go back to the application"), "{page}");
    }

    #[tokio::test]
    async fn the_page_lists_the_persons_own_applications_with_a_revoke_form_each() {
        let f = fixture().await;
        let (session, cookie) = signed_in(&f.server, "uid:alice");
        let (status, page) = text(
            show(
                State(f.server.clone()),
                from_our_page(&cookie),
                show_query("/oauth/apps"),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Signed in as <strong>alice@example.test</strong>"),
            "{page}"
        );
        assert!(
            page.contains("Alice&#39;s &#60;App&#62;") || page.contains("Alice&#x27;s &lt;App&gt;"),
            "{page}"
        );
        assert!(!page.contains("<App>"), "names are escaped");
        assert!(page.contains("Shared App") && page.contains(ALICES_APP));
        assert_eq!(page.matches("1 active sign-in").count(), 2, "{page}");
        assert!(page.contains("127.0.0.1, localhost"), "{page}");
        assert!(page.contains("<code>zebrunner:read</code>"));
        assert!(page.contains("2023-11-14 22:13 UTC"), "approved at: {page}");
        let csrf = sessions(&f.server).csrf_token(&session);
        // Two revoke forms and the sign-out form, each with the session's token.
        assert_eq!(page.matches("<form").count(), 3);
        assert_eq!(
            page.matches(&format!(r#"name="csrf" value="{csrf}""#))
                .count(),
            3
        );
        assert!(page.contains(&format!(r#"name="client_id" value="{ALICES_APP}""#)));
        // Bob sees only what he allowed.
        let (_, cookie) = signed_in(&f.server, "uid:bob");
        let (_, page) = text(
            show(
                State(f.server.clone()),
                from_our_page(&cookie),
                show_query("/oauth/apps"),
            )
            .await,
        )
        .await;
        assert!(
            page.contains("Shared App") && !page.contains(ALICES_APP),
            "{page}"
        );
    }

    #[tokio::test]
    async fn a_revoke_without_the_sessions_csrf_token_or_from_another_site_changes_nothing() {
        let f = fixture().await;
        let (alice, cookie) = signed_in(&f.server, "uid:alice");
        let token = sessions(&f.server).csrf_token(&alice);
        // No token.
        let (status, page) = post_revoke(&f.server, from_our_page(&cookie), None, ALICES_APP).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            page.contains("out of date") && page.contains("nothing was changed"),
            "{page}"
        );
        // A wrong one, and the token of another session (Alice's own earlier sign-in, Bob's).
        let (earlier, _) = signed_in(&f.server, "uid:alice");
        let (bob, _) = signed_in(&f.server, "uid:bob");
        for wrong in [
            "not-a-token".to_owned(),
            String::new(),
            sessions(&f.server).csrf_token(&earlier),
            sessions(&f.server).csrf_token(&bob),
            f.server.cookies.derive("consent", &alice.session_id),
        ] {
            let (status, _) =
                post_revoke(&f.server, from_our_page(&cookie), Some(&wrong), ALICES_APP).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{wrong}");
        }
        // The right token, from another site.
        let mut cross = from_our_page(&cookie);
        cross.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        cross.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        let (status, page) = post_revoke(&f.server, cross, Some(&token), ALICES_APP).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            page.contains("another site") && !page.contains(ALICES_APP),
            "{page}"
        );
        // The right token, no session cookie.
        let mut no_session = from_our_page("other=1");
        no_session.remove(header::ORIGIN);
        let (status, _) = post_revoke(&f.server, no_session, Some(&token), ALICES_APP).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(alice_has(&f.server).await, ALL);
        // Signing out needs the token too.
        let response = sign_out(
            State(f.server.clone()),
            from_our_page(&cookie),
            Ok(Form(PlainForm { csrf: None })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookies(&response).is_empty());
    }

    #[tokio::test]
    async fn a_person_revokes_only_their_own_grants() {
        let f = fixture().await;
        let (bob, cookie) = signed_in(&f.server, "uid:bob");
        let token = sessions(&f.server).csrf_token(&bob);
        // Alice's client, by Bob: he has nothing there, so nothing happens.
        let (status, page) =
            post_revoke(&f.server, from_our_page(&cookie), Some(&token), ALICES_APP).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Nothing to revoke"), "{page}");
        assert_eq!(alice_has(&f.server).await, ALL);
        // The shared client: Bob's grant and approval go, Alice's stay.
        let (status, page) =
            post_revoke(&f.server, from_our_page(&cookie), Some(&token), SHARED_APP).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Revoked. Shared App can no longer use Zebrunner as you"),
            "{page}"
        );
        assert!(!f.server.store.family_live("fam-bob-1").await.unwrap());
        assert!(
            f.server
                .store
                .consent("uid:bob", SHARED_APP)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(alice_has(&f.server).await, ALL);
        assert!(
            page.contains(r#"id="no-apps""#),
            "Bob's list is empty: {page}"
        );
    }

    #[tokio::test]
    async fn revoking_takes_back_the_approval_and_every_live_grant_at_once() {
        let f = fixture().await;
        let (alice, cookie) = signed_in(&f.server, "uid:alice");
        let token = sessions(&f.server).csrf_token(&alice);
        let (status, page) =
            post_revoke(&f.server, from_our_page(&cookie), Some(&token), ALICES_APP).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains(r#"id="notice""#) && page.contains("Revoked."),
            "{page}"
        );
        assert_eq!(alice_has(&f.server).await, (false, false, true, true));
        assert!(!f.server.grant_live("fam-alice-1").await.unwrap());
        let grant = f
            .server
            .store
            .list_grants(Some("uid:alice"), Some(ALICES_APP), 10)
            .await
            .unwrap();
        assert_eq!(grant[0].revoked_reason.as_deref(), Some(REVOKED_BY_PERSON));
        // The list now holds the shared app only; revoking it too empties it.
        assert!(!page.contains(&format!(r#"value="{ALICES_APP}""#)) && page.contains(SHARED_APP));
        let (_, page) =
            post_revoke(&f.server, from_our_page(&cookie), Some(&token), SHARED_APP).await;
        assert!(page.contains(r#"id="no-apps""#), "{page}");
        assert_eq!(alice_has(&f.server).await, (false, false, false, false));
        // Nothing named: refused plainly.
        let (status, _) = post_revoke(&f.server, from_our_page(&cookie), Some(&token), "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Signing out ends the session.
        let response = sign_out(
            State(f.server.clone()),
            from_our_page(&cookie),
            Ok(Form(PlainForm { csrf: Some(token) })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            "/oauth/apps?notice=signed-out"
        );
        assert!(set_cookies(&response)[0].starts_with("zmcp-apps=;"));
    }

    #[test]
    fn the_table_joins_approvals_and_live_grants_by_client() {
        let consent = |client: &str, at: i64| ConsentRow {
            user_key: "uid:a".into(),
            client_id: client.into(),
            scope: "zebrunner:read zebrunner:write".into(),
            approved_at: at,
        };
        let grant = |family: &str,
                     client: &str,
                     created: i64,
                     refreshed: Option<i64>,
                     revoked: Option<i64>| GrantRow {
            family_id: family.into(),
            client_id: client.into(),
            user_key: "uid:a".into(),
            created_at: created,
            last_refresh_at: refreshed,
            revoked_at: revoked,
            revoked_reason: None,
        };
        let clients = vec![Client {
            client_id: "b".into(),
            client_name: Some("Alpha".into()),
            redirect_uris: vec!["cursor://anysphere.cursor-mcp/oauth/callback".into()],
        }];
        let apps = table(
            vec![consent("a", 0), consent("b", 60)],
            &[
                grant("g1", "b", 120, Some(3_600), None),
                grant("g2", "b", 7_200, None, None),
                grant("g3", "a", 0, None, Some(10)),
                grant("g4", "https://app.example/client.json", 0, None, None),
                grant("g5", "gone", 0, None, Some(10)),
            ],
            &clients,
        );
        let names: Vec<_> = apps.iter().map(|a| a.name.as_str()).collect();
        // By name; a client with a live grant but no approval is listed too; one with only
        // revoked grants and no approval is not.
        assert_eq!(names, ["a", "Alpha", "https://app.example/client.json"]);
        let alpha = &apps[1];
        assert_eq!(alpha.grants, "2 active sign-ins");
        assert_eq!(alpha.last_used.as_deref(), Some("1970-01-01 02:00 UTC"));
        assert_eq!(alpha.approved, "1970-01-01 00:01 UTC");
        assert_eq!(alpha.redirect_hosts, ["cursor:"]);
        assert_eq!(alpha.scopes, ["zebrunner:read", "zebrunner:write"]);
        assert_eq!(apps[0].grants, "not signed in");
        let document = &apps[2];
        assert_eq!(document.document_host.as_deref(), Some("app.example"));
        assert_eq!(document.approved, "approval withdrawn");
        assert!(document.scopes.is_empty() && document.redirect_hosts.is_empty());
    }
}
