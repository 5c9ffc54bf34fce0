//! Typed async client for Zebrunner: the TCM Public API (`/api/public/v1`,
//! HTTP Basic) and the internal APIs the web app uses (`/api/projects`,
//! `/api/reporting`, `/api/tcm`, Bearer from IAM). No MCP in here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zebrunner_client::Error> {
//! use futures::TryStreamExt as _;
//! use secrecy::SecretString;
//! use zebrunner_client::{ClientConfig, Rql, ZebrunnerClient, ZebrunnerUrl};
//!
//! let url = ZebrunnerUrl::parse("https://acme.zebrunner.com")?;
//! let client = ZebrunnerClient::new(ClientConfig::new(url, "alice", SecretString::from("token")))?;
//! let automated = client.resolve_automation_state("DEMO", "automated").await?;
//! let filter = Rql::new().eq("automationState.id", automated);
//! let cases: Vec<_> = client.test_cases("DEMO", Some(filter)).try_collect().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! * [`config`]: [`ZebrunnerUrl`] (accepts the bare host or the Public API
//!   base and derives both) and [`ClientConfig`]; secrets never `Debug`-print.
//! * `transport`: the one place that does HTTP — builds URLs, attaches Basic
//!   or Bearer auth, applies the rate limit, retries idempotent requests with
//!   backoff and `Retry-After`, counts requests, opens a tracing span per
//!   attempt and maps statuses to [`Error`].
//! * `breaker`: the circuit breaker every client of a workspace shares: after a run of
//!   requests Zebrunner did not answer, requests fail fast ([`ErrorKind::CircuitOpen`])
//!   until a cool-down has passed and one probe gets an answer.
//! * `auth`: the Bearer cache; single-flight IAM refresh, expiry margin, one
//!   re-authentication on a 401.
//! * `bearer`: [`Workspace::issue_bearer`], a short-lived bearer for one
//!   person's long-lived token (what our token exchange hands out).
//! * `client`: [`ZebrunnerClient`] itself (an `Arc` around the transport and
//!   the per-client caches).
//! * [`api`]: the endpoint methods, one file per area (projects, suites,
//!   cases, settings, reporting), all `impl ZebrunnerClient` blocks.
//! * [`models`]: response types, tolerant of unknown fields and of numbers
//!   sent as strings (via [`lenient`]).
//! * [`paging`]: token paging (Public API) and page paging (reporting), as
//!   one-page requests and as `futures::Stream`s that walk every page.
//! * [`request_log`]: per-call counts of the requests made, for audit records.
//! * [`rql`]: a builder for RQL `filter` strings that escapes values.
//! * [`error`]: [`Error`] / [`ErrorKind`] with messages a person can act on.
//! * [`sso`]: connecting through Zebrunner's single sign-on:
//!   [`parse_sso_address`] takes the single-use token out of the address the
//!   browser lands on, [`Workspace::redeem_sso_token`] exchanges it once for
//!   an [`SsoGrant`] (login and a long-lived token that works like an API token).
//! * [`token_exchange`]: the proposed Okta token exchange:
//!   [`Workspace::exchange_id_token`] trades a person's Okta ID token for an
//!   [`SsoGrant`], or says Zebrunner does not offer it ([`ErrorKind::NotOffered`]).
//! * `tls`: [`install_crypto_provider`], rustls with ring as the process default
//!   (reqwest is built without a provider of its own).
//!
//! A call flows `api::*` → `transport::Transport::execute` (→ `auth` for a
//! bearer when needed) → HTTP, and back through `api`'s envelope decoders
//! (`{data: …}`, `{items: …}`) into `models`.

pub mod api;
mod auth;
mod bearer;
mod breaker;
mod client;
pub mod config;
pub mod error;
pub mod lenient;
pub mod models;
pub mod paging;
pub mod request_log;
pub mod rql;
pub mod sso;
mod tls;
pub mod token_exchange;
mod transport;

pub use api::forensics::{FileRef, InvalidFileReference, MAX_LOG_PAGE_SIZE};
pub use api::launch_actions::{RERUN_PERMISSION, job_build_request, rerun_failures_request};
pub use api::reporting::REPORTING_PAGE_SIZE;
pub use api::widgets::MAX_WIDGET_ROWS;
pub use api::writes::{WriteMethod, WriteRequest};
pub use auth::AuthIdentity;
pub use bearer::IssuedBearer;
pub use client::{Workspace, ZebrunnerClient};
pub use config::{BreakerConfig, ClientConfig, WorkspaceConfig, ZebrunnerUrl};
pub use error::{Error, ErrorKind};
pub use models::*;
pub use paging::{MAX_PAGE_SIZE, Page, PageRequest, TokenPage, TokenPageRequest};
pub use request_log::{RequestCount, RequestLog};
pub use rql::{Rql, RqlValue};
pub use secrecy::SecretString;
pub use sso::{SsoAddressError, SsoGrant, parse_sso_address};
pub use tls::install_crypto_provider;
