//! The MCP face of zebrunner-mcp: tools over the Zebrunner client, served on
//! stdio and on Streamable HTTP.
//!
//! # Layout
//!
//! A call flows one way: transport, then [`handler::ZebrunnerMcp`] (the rmcp
//! `ServerHandler`), then [`credentials::Credentials`] (which Zebrunner
//! account serves the call), then one tool in [`tools`], which talks to
//! Zebrunner through `zebrunner_client` and renders the answer.
//!
//! - [`config`]: typed server options (transport, HTTP limits, allowed hosts
//!   and origins, protocol versions).
//! - [`confirm`]: write confirmation tokens (preview, then confirm with a
//!   single-use token kept hashed in storage).
//! - [`toolsets`]: named tool groups, configured and narrowed per request.
//! - [`credentials`]: where the Zebrunner client for a call comes from. Today
//!   a shared service account; the per-user vault plugs in here.
//! - [`handler`]: the MCP server: capabilities, instructions, tool routing.
//! - [`prompts`]: MCP prompts, short orchestrations naming this server's
//!   tools for common QA jobs.
//! - [`resources`]: MCP resources (`zebrunner://projects` and per-project
//!   templates) with project-key completion, served by the tools' code.
//! - [`tools`]: one file per tool, plus shared pieces: output format and
//!   rendering ([`tools::output`]), errors that tell the user what to do next
//!   ([`tools::error`]), opaque cursors ([`tools::cursor`]), and the suite
//!   hierarchy ([`tools::hierarchy`]).
//! - [`transport`]: stdio and Streamable HTTP (`/mcp`, `/healthz`), kept apart
//!   from tool logic. Caller identity (OAuth), access policy and the audit log
//!   sit between the HTTP transport and the handler once they land.

pub mod audit;
pub mod caller;
pub mod config;
pub mod confirm;
pub mod context;
pub mod credentials;
pub mod handler;
pub mod observe;
pub mod policy;
pub mod prompts;
pub mod resources;
pub mod tools;
pub mod toolsets;
pub mod transport;

pub use caller::Caller;
pub use config::{HttpOptions, SUPPORTED_PROTOCOL_VERSIONS};
pub use credentials::Credentials;
pub use handler::ZebrunnerMcp;
