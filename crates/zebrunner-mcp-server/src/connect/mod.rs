//! The connect page (`/connect`): where a person signs in with the company's issuer (Okta)
//! and gives this server their own Zebrunner token for the vault (`credentials = "vault"`).
//!
//! # Layout
//!
//! - [`session`]: signed cookies (sign-in state, session), PKCE verifier and nonce derived
//!   from the sign-in state, CSRF tokens.
//! - [`pages`]: the templates and the headers every response carries.
//! - this file: the routes. Each one is a short story:
//!   - `GET /connect`: the person's status and forms, or the sign-in link;
//!   - `GET /connect/sign-in`: to the issuer (authorization code, PKCE S256, nonce);
//!   - `GET /connect/callback`: back from the issuer; the ID token and the access token are
//!     checked ([`zebrunner_identity::SignInClient`]), the policy must let the person use
//!     this server, and a session starts;
//!   - `POST /connect/token`: a login and API token, checked live with Zebrunner (IAM
//!     refresh; the token's `unm` must be that login) and stored;
//!   - `POST /connect/sso`: the address Zebrunner's SSO sign-in lands on; its single-use
//!     token is exchanged for a long-lived one, whose login must be the person's;
//!   - `POST /connect/disconnect`, `POST /connect/sign-out`.
//!
//! [`step`] makes the page a step of the authorization server's `/authorize` (a person who
//! has not connected does it there, once) and tries Zebrunner's token exchange first where
//! it is switched on.
//!
//! Every POST needs the session, its CSRF token, and no cross-site `Origin`. A pasted token
//! is never echoed, logged, or put in a URL; failures re-render the page with what to do.

pub mod pages;
pub mod session;
mod step;

use std::sync::Arc;

use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, StatusCode},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use secrecy::SecretString;
use serde::Deserialize;
use zebrunner_client::{ErrorKind, sso::parse_sso_address};
use zebrunner_identity::{Identity, SignInClient};

use crate::credentials::{
    VaultCredentials,
    revalidate::{Verdict, check_token},
    vault::StoreError,
};
use crate::policy::Policy;
use pages::{Account, SignedOut, Status, notice_text};
use session::{Cookies, Session};
use zebrunner_pages::{headers, render as html, request_cookies, with_cookies};

/// Largest form body (a login, a token or an address, and the CSRF token).
const MAX_FORM_BYTES: usize = 16 * 1024;
const MAX_LOGIN: usize = 256;
const MAX_TOKEN: usize = 4096;

/// Everything the page needs.
pub struct ConnectPage {
    pub sign_in: SignInClient,
    pub vault: Arc<VaultCredentials>,
    pub policy: Policy,
    pub cookies: Cookies,
    /// The issuer, to check the callback's `iss` (RFC 9207).
    pub issuer: String,
    /// This server's origin (`https://mcp.example.com`), for the `Origin` check.
    pub origin: String,
    /// `vault.zebrunner_token_exchange`: try Zebrunner's token exchange at sign-in.
    pub zebrunner_token_exchange: bool,
}

/// The page's routes, with their headers and body limit (the stylesheet is served once by
/// the HTTP transport for all pages).
pub fn router(page: Arc<ConnectPage>) -> Router {
    Router::new()
        .route("/connect", get(show))
        .route("/connect/sign-in", get(sign_in))
        .route("/connect/callback", get(callback))
        .route("/connect/token", post(save_token))
        .route("/connect/sso", post(save_sso))
        .route("/connect/disconnect", post(disconnect))
        .route("/connect/sign-out", post(sign_out))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(headers::layer))
        .with_state(page)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl ConnectPage {
    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.cookies.session(request_cookies(headers), now())
    }

    /// The signed-out page with `problem` and `status`.
    fn signed_out(&self, status: StatusCode, problem: &str) -> Response {
        html(
            status,
            &SignedOut {
                notice: None,
                problem: Some(problem),
            },
        )
    }

    /// The person's page: their status and the forms.
    async fn account(
        &self,
        status: StatusCode,
        session: &Session,
        notice: Option<&str>,
        problem: Option<&str>,
        typed_login: Option<&str>,
    ) -> Response {
        let record = match self.vault.metadata(&session.user_key).await {
            Ok(record) => record,
            Err(error) => {
                tracing::error!(%error, "the connect page could not read the vault");
                return self.signed_out(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Your connection could not be read just now; try again in a minute.",
                );
            }
        };
        let allowed = self.vault.logins().login_for(&identity_of(session));
        let login_hint = typed_login
            .or(record.as_ref().map(|r| r.login.as_str()))
            .or(allowed.as_deref())
            .unwrap_or_default();
        let who = session.who();
        html(
            status,
            &Account {
                notice,
                problem,
                who: &who,
                csrf: &self.cookies.csrf_token(session),
                connected: record.is_some(),
                status: Status::of(record.as_ref()),
                login_hint,
            },
        )
    }

    /// A POST's session, after the same-origin and CSRF checks.
    fn check_post(&self, headers: &HeaderMap, csrf: Option<&str>) -> Result<Session, Refused> {
        if !headers::same_origin(headers, &self.origin) {
            return Err(Refused::CrossSite);
        }
        let session = self.session(headers).ok_or(Refused::SignedOut)?;
        if !csrf.is_some_and(|token| self.cookies.csrf_ok(&session, token)) {
            return Err(Refused::Csrf);
        }
        Ok(session)
    }

    /// The page for a refused POST.
    fn refused(&self, refused: Refused) -> Response {
        let (status, problem) = match refused {
            Refused::CrossSite => (
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so it was refused. Open this page \
                 directly and try again.",
            ),
            Refused::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "Your sign-in to this page expired; sign in again. Nothing was saved.",
            ),
            Refused::Csrf => (
                StatusCode::FORBIDDEN,
                "This form is out of date or was not sent from this page, so it was refused. \
                 Reload the page and try again.",
            ),
        };
        self.signed_out(status, problem)
    }

    /// Store a checked token, or show why not.
    async fn store(&self, session: &Session, login: &str, token: &SecretString) -> Response {
        match self.vault.store(&identity_of(session), login, token).await {
            Ok(meta) => {
                tracing::info!(user_key = %session.user_key, login = %meta.login, revision = meta.revision, "a person connected their Zebrunner account");
                if session.resume {
                    // An application's authorization waits for this: go back to it.
                    see_other(zebrunner_oauth::RESUME_PATH)
                } else {
                    see_other("/connect?notice=saved")
                }
            }
            Err(StoreError::LoginNotAllowed(why)) => {
                self.account(
                    StatusCode::FORBIDDEN,
                    session,
                    None,
                    Some(&why),
                    Some(login),
                )
                .await
            }
            Err(StoreError::Vault(error)) => {
                tracing::error!(%error, "the connect page could not store a token");
                self.account(
                    StatusCode::SERVICE_UNAVAILABLE,
                    session,
                    None,
                    Some("The token was fine, but it could not be stored just now; try again in a minute."),
                    Some(login),
                )
                .await
            }
        }
    }
}

/// Why a POST was refused before it was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// `Origin` or `Sec-Fetch-Site` names another site.
    CrossSite,
    /// No valid session cookie.
    SignedOut,
    /// The form's CSRF token is missing or not this session's.
    Csrf,
}

/// The signed-in person as the login rules see them.
fn identity_of(session: &Session) -> Identity {
    Identity {
        user_key: session.user_key.clone(),
        subject: session.user_key.clone(),
        email: session.email.clone(),
        name: session.name.clone(),
        groups: Vec::new(),
        scopes: Vec::new(),
        client_id: None,
        is_service: false,
        grant_id: None,
        expires_at: session.expires_at,
    }
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

#[derive(Deserialize)]
struct ShowQuery {
    notice: Option<String>,
}

async fn show(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Query(query): Query<ShowQuery>,
) -> Response {
    let notice = query.notice.as_deref().and_then(notice_text);
    match page.session(&headers) {
        Some(session) => {
            page.account(StatusCode::OK, &session, notice, None, None)
                .await
        }
        None => html(
            StatusCode::OK,
            &SignedOut {
                notice,
                problem: None,
            },
        ),
    }
}

async fn sign_in(State(page): State<Arc<ConnectPage>>) -> Response {
    let (state, cookie) = page.cookies.begin_sign_in(now());
    let url = page.sign_in.authorization_url(
        &state,
        &page.cookies.nonce(&state),
        &page.cookies.pkce_challenge(&state),
    );
    with_cookies(see_other(url.as_str()), &[cookie])
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let clear = page.cookies.clear_sign_in();
    let state = query.state.as_deref().unwrap_or_default();
    let started_here = page
        .cookies
        .sign_in_matches(request_cookies(&headers), state, now());
    if !started_here {
        return with_cookies(
            page.signed_out(
                StatusCode::BAD_REQUEST,
                "This sign-in was not started in this browser, or took too long. Sign in again.",
            ),
            &[clear],
        );
    }
    if query.iss.as_deref().is_some_and(|iss| iss != page.issuer) {
        return with_cookies(
            page.signed_out(
                StatusCode::BAD_REQUEST,
                "The sign-in answer came from an unexpected issuer. Sign in again.",
            ),
            &[clear],
        );
    }
    if let Some(error) = &query.error {
        let problem = if error == "access_denied" {
            "The sign-in was cancelled or refused. Sign in again, or ask your administrator \
             for access to this application."
        } else {
            "The sign-in did not finish. Sign in again; if it keeps failing, tell the \
             administrator of this server."
        };
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "connect sign-in refused by the issuer");
        return with_cookies(page.signed_out(StatusCode::BAD_REQUEST, problem), &[clear]);
    }
    let Some(code) = query
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 4096)
    else {
        return with_cookies(
            page.signed_out(
                StatusCode::BAD_REQUEST,
                "The sign-in answer had no code. Sign in again.",
            ),
            &[clear],
        );
    };
    let signed_in = match page
        .sign_in
        .finish(
            code,
            &page.cookies.pkce_verifier(state),
            &page.cookies.nonce(state),
        )
        .await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::warn!(%error, "connect sign-in failed");
            return with_cookies(
                page.signed_out(
                    StatusCode::BAD_GATEWAY,
                    "The sign-in could not be completed. Sign in again; if it keeps failing, \
                     tell the administrator of this server.",
                ),
                &[clear],
            );
        }
    };
    let identity = signed_in.identity;
    if let Err(reason) = page.policy.grant(&identity) {
        tracing::info!(user_key = %identity.user_key, "connect sign-in refused by the policy");
        return with_cookies(
            page.signed_out(
                StatusCode::FORBIDDEN,
                &format!("You may not use this server: {reason}."),
            ),
            &[clear],
        );
    }
    let mut identity = identity;
    identity.email = identity.email.or(signed_in.person.email);
    identity.name = identity.name.or(signed_in.person.name);
    // Someone signing in without a stored token may be connected by Zebrunner itself.
    let connected_now = matches!(page.vault.metadata(&identity.user_key).await, Ok(None))
        && page
            .connect_by_exchange(&identity, &signed_in.id_token)
            .await;
    let (_, session) =
        page.cookies
            .begin_session(identity.user_key, identity.email, identity.name, now());
    let to = if connected_now {
        "/connect?notice=saved"
    } else {
        "/connect"
    };
    with_cookies(see_other(to), &[clear, session])
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    login: Option<String>,
    token: Option<String>,
}

async fn save_token(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let session = match page.check_post(&headers, form.csrf.as_deref()) {
        Ok(session) => session,
        Err(refused) => return page.refused(refused),
    };
    let login = form.login.as_deref().unwrap_or_default().trim();
    let token = form.token.unwrap_or_default();
    let token = token.trim();
    let invalid = if login.is_empty() || login.len() > MAX_LOGIN {
        Some("Enter your Zebrunner login (your user name or e-mail address).")
    } else if token.is_empty() {
        Some("Paste your Zebrunner API token.")
    } else if token.len() > MAX_TOKEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some(
            "That does not look like a Zebrunner API token: paste the token alone, as Zebrunner shows it.",
        )
    } else {
        None
    };
    if let Some(problem) = invalid {
        return page
            .account(
                StatusCode::UNPROCESSABLE_ENTITY,
                &session,
                None,
                Some(problem),
                Some(login),
            )
            .await;
    }
    // The login rules first: nobody gets to probe tokens for a login they may not use.
    if let Err(StoreError::LoginNotAllowed(why)) =
        page.vault.check_login(&identity_of(&session), login)
    {
        return page
            .account(
                StatusCode::FORBIDDEN,
                &session,
                None,
                Some(&why),
                Some(login),
            )
            .await;
    }
    let token = SecretString::from(token.to_owned());
    match check_token(page.vault.workspace(), login, token.clone()).await {
        Verdict::Valid => page.store(&session, login, &token).await,
        Verdict::Invalid(reason) => {
            let problem =
                format!("Not saved: {reason}. Check the login and paste the token again.");
            page.account(
                StatusCode::UNPROCESSABLE_ENTITY,
                &session,
                None,
                Some(&problem),
                Some(login),
            )
            .await
        }
        Verdict::Unknown(why) => {
            tracing::warn!(%why, "Zebrunner could not check a token on the connect page");
            page.account(
                StatusCode::SERVICE_UNAVAILABLE,
                &session,
                None,
                Some("Zebrunner could not be reached to check the token, so nothing was saved. Try again in a minute."),
                Some(login),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct SsoForm {
    csrf: Option<String>,
    sso_url: Option<String>,
}

async fn save_sso(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Form(form): Form<SsoForm>,
) -> Response {
    let session = match page.check_post(&headers, form.csrf.as_deref()) {
        Ok(session) => session,
        Err(refused) => return page.refused(refused),
    };
    let workspace = page.vault.workspace();
    let address = form.sso_url.unwrap_or_default();
    let temporary = match parse_sso_address(&address, workspace.web_url()) {
        Ok(token) => token,
        Err(error) => {
            return page
                .account(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &session,
                    None,
                    Some(&error.to_string()),
                    None,
                )
                .await;
        }
    };
    match workspace.redeem_sso_token(temporary).await {
        Ok(grant) => page.store(&session, &grant.login, &grant.token).await,
        Err(error) if error.kind() == ErrorKind::Unauthorized => {
            page.account(
                StatusCode::UNPROCESSABLE_ENTITY,
                &session,
                None,
                Some("Zebrunner did not accept that address: it works only once and only for a few minutes. Sign in to Zebrunner again and paste the new address."),
                None,
            )
            .await
        }
        Err(error) => {
            tracing::warn!(kind = ?error.kind(), "Zebrunner could not exchange an SSO address on the connect page");
            page.account(
                StatusCode::SERVICE_UNAVAILABLE,
                &session,
                None,
                Some("Zebrunner could not be reached to check the address, so nothing was saved. Sign in to Zebrunner again and retry in a minute."),
                None,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct PlainForm {
    csrf: Option<String>,
}

async fn disconnect(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Form(form): Form<PlainForm>,
) -> Response {
    let session = match page.check_post(&headers, form.csrf.as_deref()) {
        Ok(session) => session,
        Err(refused) => return page.refused(refused),
    };
    match page.vault.remove(&session.user_key).await {
        Ok(_) => {
            tracing::info!(user_key = %session.user_key, "a person disconnected their Zebrunner account");
            see_other("/connect?notice=disconnected")
        }
        Err(error) => {
            tracing::error!(%error, "the connect page could not delete a token");
            page.account(
                StatusCode::SERVICE_UNAVAILABLE,
                &session,
                None,
                Some("Your token could not be removed just now; try again in a minute."),
                None,
            )
            .await
        }
    }
}

async fn sign_out(
    State(page): State<Arc<ConnectPage>>,
    headers: HeaderMap,
    Form(form): Form<PlainForm>,
) -> Response {
    if let Err(refused) = page.check_post(&headers, form.csrf.as_deref()) {
        return page.refused(refused);
    }
    with_cookies(
        see_other("/connect?notice=signed-out"),
        &[page.cookies.end_session()],
    )
}
