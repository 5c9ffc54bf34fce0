//! The MCP server itself: what it announces at `initialize` and how tool
//! calls are routed.

use std::borrow::Cow;

use rmcp::{
    ServerHandler,
    handler::server::router::tool::ToolRouter,
    model::{Implementation, ProtocolVersion, ServerCapabilities, ServerConfig},
    tool_handler,
};

use crate::{config::SUPPORTED_PROTOCOL_VERSIONS, credentials::Credentials, tools};

const INSTRUCTIONS: &str = "Tools for Zebrunner test management. Start with list_projects to learn \
project keys. Test cases: search_test_cases (filters, cursor paging, count_only) then \
get_test_case by key such as DEMO-12. Suites: list_test_suites (flat or tree) and \
get_test_suite. Project vocabularies (automation states, priorities, result statuses, \
configuration groups, custom fields): get_project_settings. Every tool accepts \
format=markdown (default) or json.";

/// The Zebrunner MCP server. Cheap to clone: one per MCP session.
#[derive(Clone)]
pub struct ZebrunnerMcp {
    credentials: Credentials,
    tool_router: ToolRouter<ZebrunnerMcp>,
}

impl ZebrunnerMcp {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            tool_router: tools::router(),
        }
    }

    /// The Zebrunner client serving the current call.
    pub(crate) fn client(&self) -> &zebrunner_client::ZebrunnerClient {
        self.credentials.client()
    }

    /// Every tool definition, as `tools/list` returns them.
    pub fn tool_definitions(&self) -> Vec<rmcp::model::Tool> {
        self.tool_router.list_all()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ZebrunnerMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("zebrunner-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Zebrunner MCP"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&SUPPORTED_PROTOCOL_VERSIONS)
    }
}
