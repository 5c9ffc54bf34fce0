//! The MCP server itself: what it announces at `initialize`, which tools a
//! caller sees, and how a tool call is run: policy check, the tool (with the
//! caller's grant), then the audit record, written before the answer leaves.

use std::{borrow::Cow, time::Instant};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext},
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
        PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
        ResultType, ServerCapabilities, ServerConfig,
    },
    service::RequestContext,
};
use zebrunner_client::RequestLog;
use zebrunner_storage::audit::{AuditLog, AuditRecord, Outcome};

use crate::{
    audit,
    caller::Caller,
    config::SUPPORTED_PROTOCOL_VERSIONS,
    confirm::Confirmations,
    credentials::Credentials,
    policy::is_write,
    resources,
    tools::{self, error::ErrorClassSlot},
    toolsets::{self, Toolsets},
};

const INSTRUCTIONS: &str = "Tools for Zebrunner test management. Start with list_projects to learn \
project keys. Test cases: search_test_cases (filters, cursor paging, count_only) then \
get_test_case by key such as DEMO-12. Suites: list_test_suites (flat or tree) and \
get_test_suite. Project vocabularies (automation states, priorities, result statuses, \
configuration groups, custom fields): get_project_settings. Case history (executions across \
runs and launches, change log with step diffs): get_test_case_history. TCM test runs: \
list_test_runs then get_test_run (results per case). Automation: list_launches, get_launch, \
list_launch_tests (failures, linked case keys, known issues). Milestones: list_milestones. \
Analysis: analyze_launch_failures (triage a launch), find_duplicate_test_cases, \
review_test_case, coverage_report and pass_rate_report (chart=png adds an image). Writes \
(create_/update_test_suite, create_/update_test_case, create_/update_test_run, \
add_test_cases_to_run, record_test_results) first return a preview and a confirmation_token; \
repeat the call with confirm=true and that token to perform the write (dry_run shows the \
request only). Lists are cut to a limit: when has_more is true, call again with next_cursor. \
Every tool accepts format=markdown (default) or json.";

/// The Zebrunner MCP server. Cheap to clone: one per MCP session.
#[derive(Clone)]
pub struct ZebrunnerMcp {
    credentials: Credentials,
    tool_router: ToolRouter<ZebrunnerMcp>,
    audit: AuditLog,
    /// The caller when the transport supplies none (stdio).
    local_caller: Caller,
    /// Write confirmation tokens (in the server's storage).
    confirmations: Confirmations,
    /// Toolsets offered; a request header may narrow them.
    toolsets: Toolsets,
}

impl ZebrunnerMcp {
    /// A server for local use: no audit sink, no identity, every tool.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            tool_router: tools::router(),
            audit: AuditLog::disabled(),
            local_caller: Caller::local("stdio", false),
            confirmations: Confirmations::default(),
            toolsets: Toolsets::all(),
        }
    }

    /// The database holding confirmation tokens (shared by replicas).
    /// Without it, a private in-memory SQLite is used.
    pub fn with_storage(mut self, storage: zebrunner_storage::Storage) -> Self {
        self.confirmations = Confirmations::with_storage(storage, self.confirmations.ttl());
        self
    }

    /// How long a write preview's confirmation token stays valid.
    pub fn with_confirmation_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.confirmations = self.confirmations.with_ttl(ttl);
        self
    }

    /// The toolsets offered (default all).
    pub fn with_toolsets(mut self, toolsets: Toolsets) -> Self {
        self.toolsets = toolsets;
        self
    }

    pub(crate) fn confirmations(&self) -> &Confirmations {
        &self.confirmations
    }

    /// The toolsets of this request: the configured ones, narrowed by the
    /// `X-Zebrunner-Toolsets` header when present.
    fn toolsets_for(&self, context: &RequestContext<RoleServer>) -> Toolsets {
        let header = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(toolsets::HEADER))
            .map(|v| v.to_str().unwrap_or(""));
        self.toolsets.narrowed_by(header)
    }

    /// Where audit records go.
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = audit;
        self
    }

    /// The caller assumed when the transport supplies none (stdio).
    pub fn with_local_caller(mut self, caller: Caller) -> Self {
        self.local_caller = caller;
        self
    }

    /// The Zebrunner client serving the current call.
    pub(crate) fn client(&self) -> &zebrunner_client::ZebrunnerClient {
        self.credentials.client()
    }

    /// Every tool definition, whoever asks.
    pub fn tool_definitions(&self) -> Vec<rmcp::model::Tool> {
        self.tool_router.list_all()
    }

    /// Which tools write, by name (the HTTP guard needs it for step-up).
    pub fn write_tools(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .filter(is_write)
            .map(|t| t.name.to_string())
            .collect()
    }

    /// Write an audit record of a read; a lost record is logged, not fatal.
    pub(crate) async fn record_audit(&self, record: &AuditRecord) {
        if let Err(error) = self.audit.record(record).await {
            tracing::error!(tool = ?record.tool, %error, "audit record could not be written");
        }
    }

    /// The caller of this request: set by the HTTP guard, else the local one.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Caller {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .unwrap_or_else(|| self.local_caller.clone())
    }
}

impl ServerHandler for ZebrunnerMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_completions()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("zebrunner-mcp", env!("CARGO_PKG_VERSION"))
                .with_title("Zebrunner MCP"),
        )
        .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&SUPPORTED_PROTOCOL_VERSIONS)
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context);
        let toolsets = self.toolsets_for(&context);
        let cacheable = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| caller.grant.may_use(t) && toolsets.enables(&t.name))
            .collect();
        Ok(ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools,
            meta: None,
            next_cursor: None,
            ttl_ms: cacheable.then_some(0),
            // The list depends on who asks.
            cache_scope: cacheable.then_some(CacheScope::Private),
        })
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.caller(&context);
        let mut result = ListResourcesResult::with_all_items(self.resources_for(&caller).await);
        if cacheable(&context) {
            // The list depends on who asks.
            result = result.with_ttl_ms(0).with_cache_scope(CacheScope::Private);
        }
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let mut result = ListResourceTemplatesResult::with_all_items(resources::templates());
        if cacheable(&context) {
            // The same templates for everyone; reads are still per caller.
            result = result.with_ttl_ms(0).with_cache_scope(CacheScope::Public);
        }
        Ok(result)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.caller(&context);
        self.read_resource_as(&caller, &request.uri, cacheable(&context))
            .await
            .map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let caller = self.caller(&context);
        self.complete_as(&caller, &request).await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, McpError> {
        Ok(rmcp::model::ListPromptsResult::with_all_items(
            crate::prompts::list(),
        ))
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, McpError> {
        // Prompts name only the tools this caller is offered.
        let caller = self.caller(&context);
        let toolsets = self.toolsets_for(&context);
        let tools: Vec<String> = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| caller.grant.may_use(t) && toolsets.enables(&t.name))
            .map(|t| t.name.to_string())
            .collect();
        crate::prompts::get(&request.name, request.arguments.as_ref(), &tools).map(Into::into)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let caller = self.caller(&context);
        let name = request.name.to_string();
        let arguments = request.arguments.clone();
        let toolsets = self.toolsets_for(&context);
        let visible = self
            .tool_router
            .get(&name)
            .is_some_and(|tool| caller.grant.may_use(tool) && toolsets.enables(&name));
        if !visible {
            // A hidden tool is refused exactly like one that does not exist.
            let record = audit::tool_call(
                &caller,
                &name,
                arguments.as_ref(),
                Vec::new(),
                Outcome::Denied,
                Some("tool_not_available"),
                started.elapsed(),
            );
            self.audit.record(&record).await.ok();
            return Err(McpError::invalid_params("tool not found", None));
        }
        let write = self.tool_router.get(&name).is_some_and(is_write);
        context.extensions.insert(caller.grant.clone());
        context.extensions.insert(caller.clone());
        let log = RequestLog::new();
        let class = ErrorClassSlot::default();
        let call = self
            .tool_router
            .call(ToolCallContext::new(self, request, context));
        let outcome = class.scope(log.scope(call)).await;
        let (audit_outcome, error_class) = match &outcome {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                let class = class.get().unwrap_or("tool_error");
                let outcome = if class == "denied" {
                    Outcome::Denied
                } else {
                    Outcome::Error
                };
                (outcome, Some(class))
            }
            Ok(_) => (Outcome::Ok, None),
            Err(_) => (Outcome::Error, Some("invalid_request")),
        };
        let record = audit::tool_call(
            &caller,
            &name,
            arguments.as_ref(),
            log.entries(),
            audit_outcome,
            error_class,
            started.elapsed(),
        );
        if let Err(error) = self.audit.record(&record).await {
            tracing::error!(tool = %name, %error, "audit record could not be written");
            if write {
                // A write whose record is lost must not look successful.
                return Err(McpError::internal_error(
                    "the audit log could not record this call; nothing was reported as done",
                    None,
                ));
            }
        }
        outcome
    }
}

/// Whether the session's protocol carries cache hints (2026-07-28 and later).
fn cacheable(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}
