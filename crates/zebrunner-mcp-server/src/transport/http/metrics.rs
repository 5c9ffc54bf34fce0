//! HTTP metrics: every request the app answers counted by route template, method and status
//! (`track`, the outermost layer of [`super::app`]), and the `/metrics` endpoint on a
//! listener of its own ([`MetricsServer`], `metrics_listen`), never on the public one.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;

use crate::observe::metrics::{Exporter, HTTP_DURATION, HTTP_REQUESTS};

/// How often histograms are drained when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Count one request. The route is the template axum matched (`/mcp`,
/// `/oauth/apps/{id}`), or `unmatched`: a raw path never becomes a label.
pub(super) async fn track(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics` (Prometheus text format) on its own address.
pub struct MetricsServer {
    listener: TcpListener,
    exporter: Exporter,
}

impl MetricsServer {
    pub async fn bind(listen: SocketAddr, exporter: Exporter) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("could not listen on {listen} for metrics"))?;
        Ok(Self { listener, exporter })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listener.local_addr().context("no local address")
    }

    /// Serve until `stop` completes.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, exporter } = self;
        let upkeep = {
            let exporter = exporter.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(UPKEEP_EVERY).await;
                    exporter.run_upkeep();
                }
            })
        };
        let app = Router::new()
            .route("/metrics", get(scrape))
            .with_state(exporter);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
            .context("the metrics server failed");
        upkeep.abort();
        served
    }
}

async fn scrape(State(exporter): State<Exporter>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.render(),
    )
        .into_response()
}
