//! The MCP face of zebrunner-mcp: tools over the Zebrunner client, served on
//! stdio and on Streamable HTTP.
//!
//! # Layout
//!
//! A call flows one way, with one seam per concern:
//!
//! 1. **Transport** ([`transport`]): stdio, or Streamable HTTP behind the
//!    guard ([`transport::http::Guard`]), which validates the access token,
//!    asks the [`policy`] for the caller's grant, binds MCP sessions to
//!    people, parses `X-Zebrunner-Toolsets`, and turns every refusal into one
//!    [`transport::http::Refusal`]. The result is a [`Caller`].
//! 2. **Handler** ([`handler::ZebrunnerMcp`], the rmcp `ServerHandler`):
//!    decides what the caller sees (one visible-tools function for
//!    `tools/list`, `tools/call` and prompts) and runs the call.
//! 3. **Credentials** ([`credentials::Credentials`]): the Zebrunner client
//!    for this caller, asked once per tool call and resource read, and how
//!    Zebrunner's failures are shown to them.
//! 4. **The tool** ([`tools`], one file per tool) with an explicit
//!    [`context::CallContext`] (caller, grant, client, request log,
//!    correlation id, cursor key), talking to Zebrunner through
//!    `zebrunner_client`.
//! 5. **Observation** ([`observe::Observer`]): one audit record per tool
//!    call, resource read and authorization decision, built by [`audit`],
//!    with one failure policy; the same point counts them in the Prometheus
//!    metrics ([`observe::metrics`], served on `metrics_listen` by
//!    [`transport::http::metrics`], which also counts HTTP requests by route).
//!    `/readyz` ([`transport::http::ready`]) says whether the database, the
//!    keys and Zebrunner answer.
//!
//! Other modules:
//! - [`message_limits`] and [`result_pages`]: `[limits]` on one message: argument sizes
//!   (checked in the handler before a tool runs) and answers over the result size, sent in
//!   parts with a cursor, never cut; the JSON nesting check is
//!   [`transport::json_depth`], on both transports.
//! - [`config`]: typed server options (transport, HTTP limits, allowed hosts
//!   and origins, protocol versions, identity, policy, audit).
//! - [`connect`]: the connect page (`/connect`), where a person signs in with the issuer
//!   and stores their own Zebrunner token in the vault.
//! - [`confirm`]: write confirmation tokens (preview, then confirm with a
//!   single-use token kept hashed in storage).
//! - [`toolsets`]: named tool groups, configured and narrowed per request;
//!   [`dynamic_toolsets`]: sessions that start with a few and enable more.
//! - [`prompts`]: MCP prompts, short orchestrations naming this server's
//!   tools for common QA jobs.
//! - [`resources`]: MCP resources (`zebrunner://projects` and per-project
//!   templates) with project-key completion, served by the tools' code.
//! - [`tools`] also holds the shared pieces: output format and rendering
//!   ([`tools::output`]), errors that tell the user what to do next
//!   ([`tools::error`]), signed cursors ([`tools::cursor`]), and the suite
//!   hierarchy ([`tools::hierarchy`]).

pub mod audit;
pub mod caller;
pub mod config;
pub mod confirm;
pub mod connect;
pub mod context;
pub mod credentials;
pub mod dynamic_toolsets;
pub mod handler;
pub mod message_limits;
pub mod observe;
pub mod policy;
pub mod prompts;
pub mod resources;
pub mod result_pages;
pub mod tools;
pub mod toolsets;
pub mod transport;

pub use caller::Caller;
pub use config::{HttpOptions, SUPPORTED_PROTOCOL_VERSIONS};
pub use credentials::Credentials;
pub use handler::ZebrunnerMcp;
