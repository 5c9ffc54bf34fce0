//! How MCP messages reach the server: stdio for local clients, Streamable
//! HTTP for remote ones. Tool logic never depends on which.

pub mod http;
pub mod json_depth;
pub mod stdio;
