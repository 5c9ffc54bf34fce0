//! MCP resources: `zebrunner://projects` and, per project, resource
//! templates for the suite tree and the project's vocabularies.

pub mod uri;

pub use uri::{Family, PROJECTS_URI, ResourceUri};
