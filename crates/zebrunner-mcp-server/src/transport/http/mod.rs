//! MCP over Streamable HTTP at `/mcp`, plus `GET /healthz` for liveness, `GET /readyz` for
//! readiness ([`ready`]) and, with identity `oidc`, the RFC 9728 protected resource metadata.
//!
//! rmcp implements the transport: sessions (`Mcp-Session-Id`, the GET
//! stream, DELETE) for protocol versions before 2026-07-28, stateless
//! requests for 2026-07-28, `Host` validation against DNS rebinding, `Origin`
//! validation (403) and the request body limit (413). Its sessions are kept by our
//! `sessions` manager, which also binds each to the user who opened it. In front of it sits
//! the [`guard`]: identity, policy, session binding. Health stays open;
//! nothing else does. [`limits`] sheds load beyond the cap of requests in flight (in front
//! of the guard) and keeps per-person and per-client token buckets (in the guard).
//! [`drain`] is the graceful shutdown. [`metrics`] counts every request by route and status
//! (the outermost layer) and serves `/metrics` on its own listener. [`request_id`] gives every
//! request its correlation id and span; [`body`] bounds an admitted request's body and its
//! JSON nesting before rmcp parses it.

mod body;
mod drain;
mod guard;
pub mod limits;
mod metadata;
pub mod metrics;
pub mod ready;
mod request_id;
mod session_end;
mod sessions;

use std::{
    convert::Infallible, future::Future, net::SocketAddr, sync::Arc, task::Poll, time::Duration,
};

use anyhow::Context;
use axum::{
    Json, Router, body::Body, extract::Request, middleware, response::Response, routing::get,
    serve::ListenerExt,
};
use futures::future::BoxFuture;
pub use guard::{Guard, Refusal};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
pub use sessions::{SessionBindings, Sessions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceBuilder};
use zebrunner_identity::{
    OidcValidator,
    resource_metadata::{ProtectedResourceMetadata, well_known_urls},
};

use crate::{config::HttpOptions, handler::ZebrunnerMcp, policy::Policy};

/// Who may reach `/mcp`. Refusals are recorded through the server's
/// observer, like every call.
pub struct Security {
    /// `None` with identity `none` (loopback only).
    pub validator: Option<OidcValidator>,
    pub policy: Policy,
    pub read_only: bool,
    /// The URL clients use, without `/mcp`; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// The connect page, with `credentials = "vault"` and a sign-in client.
    pub connect: Option<Arc<crate::connect::ConnectPage>>,
    /// Our own authorization server (identity `broker`), whose tokens `validator` checks.
    pub oauth: Option<Arc<zebrunner_oauth::AuthorizationServer>>,
}

impl Security {
    /// No identity: for loopback servers, demos and tests.
    pub fn open(read_only: bool) -> Self {
        Self {
            validator: None,
            policy: Policy::new(Default::default(), read_only),
            read_only,
            public_url: None,
            connect: None,
            oauth: None,
        }
    }
}

/// The HTTP application: `/mcp`, `/healthz`, and the metadata documents. `shutdown` ends the
/// MCP sessions; `draining` ends the GET streams of `/mcp` (see [`drain`]).
pub fn app(
    server: ZebrunnerMcp,
    options: &HttpOptions,
    security: Security,
    bound: SocketAddr,
    shutdown: CancellationToken,
    draining: CancellationToken,
) -> anyhow::Result<Router> {
    let base = security
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let resource = url::Url::parse(&format!("{}/mcp", base.trim_end_matches('/')))
        .context("public_url does not make a valid resource URL")?;
    let (_, path_inserted) = well_known_urls(&resource);
    let server = server.with_message_limits((&options.limits).into());
    let write_tools = server.write_tools().into_iter().collect();
    let metadata = security.validator.as_ref().map(|validator| {
        let mut document = ProtectedResourceMetadata::new(
            resource.as_str(),
            vec![validator.metadata().issuer.clone()],
            security.policy.scopes_needed(true),
            Some("Zebrunner MCP".to_string()),
        );
        document.resource_documentation = Some(format!("{}/", base.trim_end_matches('/')));
        Arc::new(document)
    });
    let readiness = Arc::new(ready::Readiness::new(
        server.storage().cloned(),
        server.credentials().clone(),
        security.validator.clone(),
        security.oauth.clone(),
        draining.clone(),
    ));
    let bindings = SessionBindings::default();
    let guard = Arc::new(Guard {
        validator: security.validator,
        policy: security.policy,
        read_only: security.read_only,
        resource_metadata_url: path_inserted,
        observer: server.observer().clone(),
        sessions: bindings.clone(),
        write_tools,
        max_body_bytes: options.max_body_bytes,
        grants: security.oauth.clone(),
        limits: Arc::new(limits::RateLimits::new(&options.limits)),
    });
    let _cleanup = guard.limits.spawn_cleanup();

    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.effective_allowed_hosts(bound))
        .with_allowed_origins(options.effective_allowed_origins())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(server.for_session()),
        Arc::new(Sessions::new(bindings)),
        config,
    );
    let body_limits = Arc::new(body::BodyLimits {
        max_body_bytes: options.max_body_bytes,
        max_json_depth: options.limits.max_json_depth,
    });
    // The middleware of `/mcp`, outermost first: shed load before any token is checked, end
    // streams when draining, the guard, then the body's bounds. Stacked directly on each other
    // rather than with `Router::layer`, which boxes every level: each layer clones what it
    // wraps for every request, and a boxed level is an allocation per clone.
    let mcp = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            limits::InFlight::new(&options.limits),
            limits::shed,
        ))
        .layer(middleware::from_fn_with_state(draining, drain::end_streams))
        .layer(middleware::from_fn_with_state(guard, guard::guard))
        .layer(middleware::from_fn_with_state(body_limits, body::check))
        .layer(middleware::from_fn(session_end::no_content))
        .service(Mcp(Arc::new(mcp)));
    let mcp = Router::new().nest_service("/mcp", mcp);
    let about = about_page(
        resource.as_str(),
        metadata.is_some(),
        security.connect.is_some(),
    );
    let mut router = Router::new().merge(mcp);
    // The pages (connect page, authorization server) share one stylesheet route.
    if security.connect.is_some() || security.oauth.is_some() {
        router = router.merge(zebrunner_pages::headers::assets());
    }
    if let Some(page) = security.connect {
        router = router.merge(crate::connect::router(page));
    }
    if let Some(server) = &security.oauth {
        router = router.merge(server.router());
    }
    let mut router = router
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready::readyz).with_state(readiness))
        .route("/", get(move || async move { about }));
    if let Some(document) = metadata {
        for path in metadata::paths(&resource) {
            let document = document.clone();
            router = router.route(
                &path,
                get(move || async move { metadata::respond(&document) }),
            );
        }
    }
    // Outermost, over every route: requests counted by route template and status; inside it,
    // each request's correlation id and span.
    Ok(router
        .layer(middleware::from_fn(request_id::correlate))
        .layer(middleware::from_fn(metrics::track)))
}

/// rmcp's Streamable HTTP service behind an `Arc`. The middleware clones the service it wraps
/// for every request, and rmcp's own clone copies its configuration (the allowed hosts and
/// origins); this one is a reference count.
#[derive(Clone)]
struct Mcp(Arc<StreamableHttpService<ZebrunnerMcp, Sessions>>);

impl Service<Request> for Mcp {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { Ok(service.handle(request).await.map(Body::new)) })
    }
}

/// The page at `/`: what this server is and how to connect. It is the
/// `resource_documentation` of the protected resource metadata.
fn about_page(resource: &str, oauth: bool, connect: bool) -> axum::response::Html<String> {
    let connect = if connect {
        "<p>Calls reach Zebrunner with your own Zebrunner account: \
         <a href=\"/connect\">connect it here</a> once.</p>"
    } else {
        ""
    };
    let auth = if oauth {
        "Clients authenticate with an OAuth access token from your organisation's identity \
         provider; the protected resource metadata at <code>/.well-known/oauth-protected-resource/mcp</code> \
         names the authorization server."
    } else {
        "This server takes no access tokens: it answers on a loopback address only."
    };
    axum::response::Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Zebrunner MCP</title></head>\
         <body><h1>Zebrunner MCP {version}</h1>\
         <p>An MCP server for Zebrunner test management. Add it to your AI assistant as a \
         Streamable HTTP server with the URL <code>{resource}</code>.</p><p>{auth}</p>{connect}\
         <p>Tools for test cases, suites, test runs, launches, milestones, failure analysis, \
         reports and safe writes (preview, then confirm); see <code>tools/list</code>.</p></body></html>",
        version = env!("CARGO_PKG_VERSION"),
        resource = html_escape(resource),
    ))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// A bound HTTP server, ready to run.
pub struct HttpServer {
    listener: TcpListener,
    app: Router,
    /// Cancelled at the deadline: ends rmcp's sessions and streams.
    shutdown: CancellationToken,
    /// Cancelled at the signal: ends the GET streams.
    draining: CancellationToken,
    grace: Duration,
}

impl HttpServer {
    /// Bind `options.listen` and build the app.
    pub async fn bind(
        server: ZebrunnerMcp,
        options: &HttpOptions,
        security: Security,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("could not listen on {}", options.listen))?;
        let bound = listener.local_addr().context("no local address")?;
        let shutdown = CancellationToken::new();
        let draining = CancellationToken::new();
        let app = app(
            server,
            options,
            security,
            bound,
            shutdown.clone(),
            draining.clone(),
        )?;
        Ok(Self {
            listener,
            app,
            shutdown,
            draining,
            grace: options.shutdown_grace,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listener.local_addr().context("no local address")
    }

    /// Serve until `signal` completes, then shut down gracefully (see [`drain`]): refuse new
    /// connections, end idle streams, give requests in flight `options.shutdown_grace` to
    /// finish, end the sessions, and return.
    pub fn run(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        self.serve(Box::pin(signal))
    }

    /// [`run`](Self::run) without its generic parameter, boxed, so that axum's
    /// and hyper's connection handling is compiled once, in this crate, and not
    /// again in every crate that awaits the server (see `stdio::serve`).
    fn serve(self, signal: BoxFuture<'static, ()>) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let Self {
                listener,
                app,
                shutdown,
                draining,
                grace,
            } = self;
            // Responses stream as SSE events: without TCP_NODELAY a small event
            // that follows another waits for the client's delayed ACK (~40 ms).
            let listener = listener.tap_io(|stream| {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "could not set TCP_NODELAY");
                }
            });
            let mut server = axum::serve(listener, app)
                .with_graceful_shutdown(draining.clone().cancelled_owned())
                .into_future();
            tokio::select! {
                result = &mut server => {
                    shutdown.cancel();
                    return result.context("the HTTP server failed");
                }
                () = signal => {}
            }
            tracing::info!(
                grace_secs = grace.as_secs_f64(),
                "shutting down: new connections refused, idle streams closed, \
                 waiting for requests in flight"
            );
            draining.cancel();
            let drained = tokio::time::timeout(grace, &mut server).await;
            shutdown.cancel();
            match drained {
                Ok(result) => {
                    result.context("the HTTP server failed")?;
                    tracing::info!("every request in flight finished");
                }
                Err(_) => {
                    tracing::warn!(
                        grace_secs = grace.as_secs_f64(),
                        "requests still in flight at the shutdown deadline were cut off"
                    );
                    if tokio::time::timeout(drain::CLOSE, &mut server)
                        .await
                        .is_err()
                    {
                        tracing::warn!("connections still open after the deadline; exiting anyway");
                    }
                }
            }
            Ok(())
        })
    }
}
