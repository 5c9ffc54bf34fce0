//! The MCP server itself: what it announces at `initialize`, which tools a
//! caller sees, and how a call runs. Every tool call and resource read goes
//! the same way: the caller (from the transport), the visible-tools check,
//! the credential source's client for that caller, the tool with an explicit
//! [`CallContext`], then one record through the [`Observer`], written before
//! the answer leaves.

use std::{borrow::Cow, panic::AssertUnwindSafe, time::Instant};

use futures::FutureExt;
use tracing::Instrument as _;

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::tool::ToolCallContext,
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
        PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
        ResultType, ServerCapabilities, ServerConfig,
    },
    service::RequestContext,
};
use zebrunner_storage::audit::{AuditLog, Outcome};

use crate::{
    audit,
    caller::Caller,
    config::SUPPORTED_PROTOCOL_VERSIONS,
    confirm::Confirmations,
    context::{CallContext, RequestId},
    credentials::Credentials,
    dynamic_toolsets::{self, SessionToolsets},
    message_limits::MessageLimits,
    observe::{Durability, Observer},
    policy::is_write,
    resources,
    result_pages::ResultPages,
    tools::{self, cursor::CursorKey, error::ToolError},
    toolsets::{ToolsetNarrowing, Toolsets},
    transport::json_depth,
};

const INSTRUCTIONS: &str = "Tools for Zebrunner test management. Start with list_projects to learn \
project keys. Test cases: search_test_cases (filters, cursor paging, count_only) then \
get_test_case by key such as DEMO-12. Suites: list_test_suites (flat or tree) and \
get_test_suite. Project vocabularies (automation states, priorities, result statuses, \
configuration groups, custom fields): get_project_settings. Case history (executions across \
runs and launches, change log with step diffs): get_test_case_history. TCM test runs: \
list_test_runs then get_test_run (results per case). Automation: list_launches, get_launch, \
list_launch_tests (failures, linked case keys, known issues). Milestones: list_milestones. \
Analysis: analyze_launch_failures (triage a launch), analyze_test_failure (one failed test: \
log, screenshots, last pass, defect text) with get_test_artifact, find_duplicate_test_cases, \
review_test_case, coverage_report and pass_rate_report (chart=png adds an image). Writes \
(create_/update_test_suite, create_/update_test_case, create_/update_test_run, \
add_test_cases_to_run, record_test_results, rerun_launch_failures, start_launch) first return a preview and a confirmation_token; \
repeat the call with confirm=true and that token to perform the write (dry_run shows the \
request only). Lists are cut to a limit: when has_more is true, call again with next_cursor. \
Every tool accepts format=markdown (default) or json.";

/// The Zebrunner MCP server. Cheap to clone: one per MCP session.
#[derive(Clone)]
pub struct ZebrunnerMcp {
    credentials: Credentials,
    observer: Observer,
    /// The caller when the transport supplies none (stdio).
    local_caller: Caller,
    /// Write confirmation tokens (in the server's storage).
    confirmations: Confirmations,
    /// Toolsets offered; a request may narrow them.
    toolsets: Toolsets,
    /// With dynamic toolsets: what this session has enabled of them.
    session_toolsets: Option<SessionToolsets>,
    /// Signs pagination cursors.
    cursors: CursorKey,
    /// The server's database, when it has one (readiness asks it).
    storage: Option<zebrunner_storage::Storage>,
    /// How much a message may carry in and out (`[limits]`).
    limits: MessageLimits,
    /// Answers over the size limit, held for their next parts.
    pages: ResultPages,
    /// How long one tool call may run before it is stopped (`tool_deadline_secs`).
    tool_deadline: std::time::Duration,
}

/// Default for [`ZebrunnerMcp::with_tool_deadline`]: above the Zebrunner client's 30 s retry
/// deadline, so one slow request still reports its own failure first.
pub const DEFAULT_TOOL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

impl ZebrunnerMcp {
    /// A server for local use: no audit sink, no identity, every tool.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            observer: Observer::disabled(),
            local_caller: Caller::local("stdio", false),
            confirmations: Confirmations::default(),
            toolsets: Toolsets::all(),
            session_toolsets: None,
            cursors: CursorKey::random(),
            storage: None,
            limits: MessageLimits::default(),
            pages: ResultPages::default(),
            tool_deadline: DEFAULT_TOOL_DEADLINE,
        }
    }

    /// How long one tool call may run: past it the call ends with an error saying Zebrunner
    /// did not answer in time (audited as `deadline_exceeded`), and its requests are dropped.
    pub fn with_tool_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.tool_deadline = deadline;
        self
    }

    /// The limits on arguments, answers and (read by the transports) JSON nesting.
    pub fn with_message_limits(mut self, limits: MessageLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits given to [`with_message_limits`](Self::with_message_limits).
    pub fn message_limits(&self) -> MessageLimits {
        self.limits
    }

    /// The database holding confirmation tokens (shared by replicas).
    /// Without it, a private in-memory SQLite is used.
    pub fn with_storage(mut self, storage: zebrunner_storage::Storage) -> Self {
        self.confirmations = Confirmations::with_storage(storage.clone(), self.confirmations.ttl());
        self.storage = Some(storage);
        self
    }

    /// The database given to [`with_storage`](Self::with_storage).
    pub fn storage(&self) -> Option<&zebrunner_storage::Storage> {
        self.storage.as_ref()
    }

    /// The source of Zebrunner clients.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
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

    /// Start each session with `start` (of the offered toolsets) and offer `list_toolsets`
    /// and `enable_toolset` to add the others ([`crate::dynamic_toolsets`]).
    pub fn with_dynamic_toolsets(mut self, start: Toolsets) -> Self {
        self.session_toolsets = Some(SessionToolsets::new(start));
        self
    }

    /// This server for a new MCP session: the same settings, and with dynamic toolsets a
    /// session state of its own. The HTTP transport calls it for every session.
    pub fn for_session(&self) -> Self {
        let mut server = self.clone();
        server.session_toolsets = self.session_toolsets.as_ref().map(SessionToolsets::fresh);
        server
    }

    /// The session's toolsets, with dynamic toolsets on.
    pub(crate) fn session_toolsets(&self) -> Option<&SessionToolsets> {
        self.session_toolsets.as_ref()
    }

    /// The toolsets this server offers (before any request narrows them).
    pub(crate) fn offered_toolsets(&self) -> Toolsets {
        self.toolsets
    }

    /// The key that signs cursors; replicas sharing a database share it.
    pub fn with_cursor_key(mut self, key: CursorKey) -> Self {
        self.cursors = key;
        self
    }

    /// Where audit records go.
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.observer = Observer::new(audit);
        self
    }

    /// The caller assumed when the transport supplies none (stdio).
    pub fn with_local_caller(mut self, caller: Caller) -> Self {
        self.local_caller = caller;
        self
    }

    pub(crate) fn confirmations(&self) -> &Confirmations {
        &self.confirmations
    }

    pub fn observer(&self) -> &Observer {
        &self.observer
    }

    /// Every tool definition, whoever asks.
    pub fn tool_definitions(&self) -> Vec<rmcp::model::Tool> {
        tools::router().list_all()
    }

    /// Which tools write, by name (the HTTP guard needs it for step-up).
    pub fn write_tools(&self) -> Vec<String> {
        tools::router()
            .list_all()
            .into_iter()
            .filter(is_write)
            .map(|t| t.name.to_string())
            .collect()
    }

    /// Who is asking and which toolsets they are offered: the caller the
    /// HTTP guard attached (else the local one), and the configured toolsets
    /// narrowed by what the transport parsed from the request.
    pub(crate) fn scope(&self, context: &RequestContext<RoleServer>) -> (Caller, Toolsets) {
        let parts = context.extensions.get::<http::request::Parts>();
        let caller = parts
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .unwrap_or_else(|| self.local_caller.clone());
        let narrowing = parts.and_then(|parts| parts.extensions.get::<ToolsetNarrowing>());
        // A request naming its toolsets chose them; otherwise a dynamic session has what it
        // enabled so far.
        let toolsets = match (narrowing, &self.session_toolsets) {
            (Some(narrowing), _) => self.toolsets.narrowed(*narrowing),
            (None, Some(session)) => self.toolsets.intersection(session.enabled()),
            (None, None) => self.toolsets,
        };
        (caller, toolsets)
    }

    /// The one decision of what a caller sees: the tools their grant and
    /// toolsets offer. `tools/list`, `tools/call`, prompts and completion all
    /// ask here.
    pub(crate) fn visible_tools(
        &self,
        caller: &Caller,
        toolsets: Toolsets,
    ) -> Vec<rmcp::model::Tool> {
        tools::router()
            .list_all()
            .into_iter()
            .filter(|t| self.offers(caller, toolsets, t))
            .collect()
    }

    /// Whether `tool` is offered to `caller` under `toolsets`: their grant allows it and an
    /// enabled toolset holds it. The toolset tools are offered exactly when sessions are dynamic.
    fn offers(&self, caller: &Caller, toolsets: Toolsets, tool: &rmcp::model::Tool) -> bool {
        if dynamic_toolsets::TOOLS.contains(&tool.name.as_ref()) {
            return self.session_toolsets.is_some();
        }
        caller.grant.may_use(tool) && toolsets.enables(&tool.name)
    }

    fn visible_tool(
        &self,
        caller: &Caller,
        toolsets: Toolsets,
        name: &str,
    ) -> Option<rmcp::model::Tool> {
        tools::router()
            .get(name)
            .filter(|t| self.offers(caller, toolsets, t))
            .cloned()
    }

    /// A signed-in caller without credentials, whose client takes URL-mode elicitation
    /// (2025-11-25): ask it to show the connect page, which the person opens in their browser.
    /// Their token never passes through the MCP client (MCP forbids form elicitation for
    /// secrets). The tool still answers with the error naming the same URL, for clients that
    /// show only that; it waits for the client's answer (accept, decline or cancel) at most
    /// a minute.
    async fn ask_to_connect(&self, caller: &Caller, context: &RequestContext<RoleServer>) {
        let Some(url) = self.credentials.connect_url() else {
            return;
        };
        if caller.identity.is_none()
            || !context
                .peer
                .supported_elicitation_modes()
                .contains(&rmcp::service::ElicitationMode::Url)
        {
            return;
        }
        let Ok(url) = url::Url::parse(url) else {
            return;
        };
        let elicitation_id = audit::correlation_id();
        let asked = context
            .peer
            .elicit_url_with_timeout(
                "Connect your Zebrunner account to this server: sign in, then paste your \
                 Zebrunner API token on the page (it never passes through this app).",
                url,
                elicitation_id.clone(),
                Some(std::time::Duration::from_secs(60)),
            )
            .await;
        match asked {
            // Tell the client when the person has connected (notifications/elicitation/complete).
            Ok(rmcp::model::ElicitationAction::Accept) => {
                if let (Credentials::Vault(vault), Some(user_key)) =
                    (&self.credentials, caller.user_key())
                {
                    vault
                        .waiters()
                        .wait(user_key, context.peer.clone(), elicitation_id);
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "the client did not take the connect elicitation")
            }
        }
    }

    /// A call ended with `class`: when Zebrunner refused the credentials it used, their
    /// source hears of it (a vault record is marked invalid).
    pub(crate) async fn settle(&self, cx: &CallContext, class: Option<&str>) {
        if class == Some("zebrunner_unauthorized") {
            self.credentials.rejected(cx.vault_record.as_ref()).await;
        }
    }

    /// Before the tool runs: arguments over the limits are refused, and a part-cursor is
    /// answered from the held parts of an earlier answer ([`ResultPages`]).
    fn answer_without_tool(
        &self,
        cx: &CallContext,
        tool: &rmcp::model::Tool,
        arguments: Option<&rmcp::model::JsonObject>,
    ) -> Option<CallToolResponse> {
        let answer = match self.limits.check_arguments(arguments) {
            Err(error) => Err(error),
            Ok(()) => {
                self.pages
                    .continuation(cx, &tool.name, arguments, self.limits.max_result_bytes)?
            }
        };
        Some(
            answer
                .unwrap_or_else(|error| ToolError::into_result(cx.render_error(&error)))
                .into(),
        )
    }

    /// After the tool ran: an answer over the size limit comes in parts, or as advice.
    fn within_result_limit(
        &self,
        cx: &CallContext,
        tool: &rmcp::model::Tool,
        outcome: Result<CallToolResponse, McpError>,
    ) -> Result<CallToolResponse, McpError> {
        let Ok(CallToolResponse::Complete(result)) = outcome else {
            return outcome;
        };
        let result = self
            .pages
            .limit(cx, tool, result, self.limits.max_result_bytes)
            .unwrap_or_else(|error| ToolError::into_result(cx.render_error(&error)));
        Ok(result.into())
    }

    /// The context of one call: the credential source's client for this
    /// caller and a fresh correlation id.
    pub(crate) async fn context_for(&self, caller: &Caller) -> Result<CallContext, ToolError> {
        let resolved = self.credentials.client_for(caller).await?;
        Ok(CallContext::new(
            caller.clone(),
            resolved,
            self.cursors.clone(),
        ))
    }
}

impl ServerHandler for ZebrunnerMcp {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_completions()
            .enable_prompts()
            .build();
        // A dynamic session's tool list grows when it enables a toolset.
        if let Some(tools) = capabilities.tools.as_mut() {
            tools.list_changed = self.session_toolsets.is_some().then_some(true);
        }
        ServerConfig::new(capabilities)
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
        tools::router().get(name).cloned()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let (caller, toolsets) = self.scope(&context);
        let cacheable = cacheable(&context);
        let tools = self.visible_tools(&caller, toolsets);
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
        let (caller, _) = self.scope(&context);
        let mut result =
            ListResourcesResult::with_all_items(Box::pin(self.resources_for(&caller)).await);
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
        let (caller, _) = self.scope(&context);
        // Boxed for the reason `call_tool` is.
        Box::pin(self.read_resource_as(&caller, &request.uri, cacheable(&context)))
            .await
            .map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let (caller, _) = self.scope(&context);
        Box::pin(self.complete_as(&caller, &request)).await
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
        let (caller, toolsets) = self.scope(&context);
        let tools: Vec<String> = self
            .visible_tools(&caller, toolsets)
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        crate::prompts::get(&request.name, request.arguments.as_ref(), &tools).map(Into::into)
    }

    /// The one custom request this server answers: stdio's refusal of a message nested too
    /// deeply ([`json_depth::LineGate`]), which turns it into this request under its id.
    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, McpError> {
        if request.method == json_depth::REFUSED_METHOD {
            return Err(McpError::invalid_request(
                json_depth::too_deep_message(self.limits.max_json_depth),
                None,
            ));
        }
        Err(McpError::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            request.method,
            None,
        ))
    }

    /// Boxed: rmcp moves each request's future into a task of its own, and this one (the
    /// credential lookup, the tool, the audit record, all inline) is tens of KiB, copied on
    /// every call; boxed, what moves is a pointer.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        Box::pin(self.call_tool_as(request, context)).await
    }
}

impl ZebrunnerMcp {
    /// A tool call through the pipeline: identity, policy, credentials, the tool under its
    /// deadline, the audit record.
    async fn call_tool_as(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        // The request's correlation id and span (HTTP), or new ones (stdio).
        let request_id = RequestId::of(&context).cloned();
        let correlation_id = request_id
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_else(audit::correlation_id);
        let span = call_span(request_id.as_ref(), &correlation_id, &request.name);
        let (caller, toolsets) = self.scope(&context);
        let arguments = request.arguments.clone();
        let Some(tool) = self.visible_tool(&caller, toolsets, &request.name) else {
            // A hidden tool is refused exactly like one that does not exist.
            span.record("outcome", "tool_not_available");
            let record = audit::tool_call(
                &caller,
                &correlation_id,
                audit::CalledTool::Unknown(&request.name),
                arguments.as_ref(),
                Vec::new(),
                Outcome::Denied,
                Some("tool_not_available"),
                started.elapsed(),
            );
            let _ = self.observer.record(&record, Durability::BestEffort).await;
            return Err(McpError::invalid_params("tool not found", None));
        };
        let durability = if is_write(&tool) {
            Durability::Required
        } else {
            Durability::BestEffort
        };
        let cx = match self.context_for(&caller).instrument(span.clone()).await {
            Ok(cx) => cx.with_correlation_id(correlation_id),
            Err(error) => {
                span.record("outcome", "error");
                let record = audit::tool_call(
                    &caller,
                    &correlation_id,
                    audit::CalledTool::Known(&tool),
                    arguments.as_ref(),
                    Vec::new(),
                    Outcome::Error,
                    Some(error.class()),
                    started.elapsed(),
                );
                let _ = self.observer.record(&record, Durability::BestEffort).await;
                if let ToolError::NoCredentials(_) = &error {
                    self.ask_to_connect(&caller, &context).await;
                }
                return Ok(ToolError::into_result(error.message()).into());
            }
        };
        context.extensions.insert(cx.clone());
        let outcome = if let Some(answer) =
            self.answer_without_tool(&cx, &tool, request.arguments.as_ref())
        {
            Ok(answer)
        } else {
            let call = tools::router().call(ToolCallContext::new(self, request, context));
            // A panic inside a tool (a bug) must end as an answer and a record,
            // never as a response that never completes.
            // The deadline bounds the tool however many requests it makes; dropping the
            // future at the deadline drops its requests to Zebrunner too.
            let guarded = tokio::time::timeout(
                self.tool_deadline,
                cx.requests.scope(AssertUnwindSafe(call).catch_unwind()),
            );
            let outcome = match guarded.instrument(span.clone()).await {
                // Arguments rmcp could not read are explained in a sentence.
                Ok(Ok(outcome)) => {
                    crate::tools::arguments::explained(&cx, &tool, arguments.as_ref(), outcome)
                }
                Err(_elapsed) => {
                    tracing::warn!(
                        parent: &span,
                        deadline_secs = self.tool_deadline.as_secs_f64(),
                        "tool call stopped at its deadline"
                    );
                    let error = ToolError::DeadlineExceeded {
                        after: self.tool_deadline,
                        write: is_write(&tool),
                    };
                    Ok(ToolError::into_result(cx.render_error(&error)).into())
                }
                Ok(Err(_panic)) => {
                    tracing::error!(parent: &span, "tool panicked");
                    let error = ToolError::Internal(format!(
                        "the server failed while running {}; nothing more is known to the caller",
                        tool.name
                    ));
                    Ok(ToolError::into_result(cx.render_error(&error)).into())
                }
            };
            span.in_scope(|| self.within_result_limit(&cx, &tool, outcome))
        };
        let (audit_outcome, error_class) = match &outcome {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                let class = cx.failure().unwrap_or("tool_error");
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
        span.record("outcome", error_class.unwrap_or("ok"));
        self.settle(&cx, error_class).await;
        let mut record = audit::tool_call(
            &cx.caller,
            &cx.correlation_id,
            audit::CalledTool::Known(&tool),
            arguments.as_ref(),
            cx.requests.entries(),
            audit_outcome,
            error_class,
            started.elapsed(),
        );
        record.zebrunner_login = cx.zebrunner_login.clone();
        if self.observer.record(&record, durability).await.is_err() {
            // A write whose record is lost must not look successful.
            return Err(McpError::internal_error(
                format!(
                    "the audit log could not record this call, so it is reported as failed \
                     (reference {}); tell the administrator",
                    cx.correlation_id
                ),
                None,
            ));
        }
        outcome
    }
}

/// The span of one tool call: under the request's span when the transport made one (rmcp runs
/// the call on another task, so the parent is named), else a root of its own (stdio). The
/// tool name comes from the caller, so it is shortened.
fn call_span(request: Option<&RequestId>, correlation_id: &str, tool: &str) -> tracing::Span {
    let tool = tools::output::truncate(tool, 64);
    match request {
        Some(request) => tracing::info_span!(
            parent: &request.span,
            "tool.call",
            correlation_id = %correlation_id,
            tool = %tool,
            outcome = tracing::field::Empty,
        ),
        None => tracing::info_span!(
            "tool.call",
            correlation_id = %correlation_id,
            tool = %tool,
            outcome = tracing::field::Empty,
        ),
    }
}

/// Whether the session's protocol carries cache hints (2026-07-28 and later).
fn cacheable(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}
