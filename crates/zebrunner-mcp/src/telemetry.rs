//! Trace export over OpenTelemetry (OTLP/HTTP, protobuf) when `telemetry.otlp_endpoint` is set
//! and the binary was built with the feature `otlp`; off otherwise.
//!
//! The export layer sits beside the log layer under the same filter, so it sees the spans the
//! log sees (`http.request`, `tool.call`, `zebrunner.request`) with the same fields, which carry
//! no secrets. Spans go out in batches from the SDK's own thread over a blocking HTTP client
//! (its own thread too), so export never runs on, or waits for, the server's runtime, whichever
//! runtime the transport picked. [`Telemetry::shutdown`] sends what is left at exit.
//!
//! The endpoint is read before logging starts (the log layers are set once), from the same
//! sources as every setting: the file, then `ZMCP_TELEMETRY_*`. A setting that does not parse
//! is left to the command, which reports every problem.

use zebrunner_mcp_server::config::{Config, telemetry::TelemetryConfig};

/// The `[telemetry]` settings, or the defaults (off) when the configuration does not parse.
pub fn settings(config_file: Option<&std::path::Path>) -> TelemetryConfig {
    Config::figment(config_file)
        .extract_inner("telemetry")
        .unwrap_or_default()
}

#[cfg(feature = "otlp")]
mod export {
    use anyhow::Context as _;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
    use tracing_subscriber::registry::LookupSpan;

    use super::TelemetryConfig;

    /// The running export; [`shutdown`](Self::shutdown) sends what is left.
    pub struct Telemetry {
        provider: SdkTracerProvider,
    }

    impl Telemetry {
        /// The export for `config`, or `None` when it is off.
        pub fn start(config: &TelemetryConfig) -> anyhow::Result<Option<Self>> {
            let Some(url) = config.traces_url() else {
                return Ok(None);
            };
            let url = url.map_err(|message| {
                anyhow::anyhow!("telemetry.otlp_endpoint {message}; traces are not exported")
            })?;
            // The HTTP client takes its TLS from the process's rustls provider.
            zebrunner_client::install_crypto_provider();
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(url.as_str())
                .build()
                .context("could not set up the OTLP trace exporter")?;
            let resource = Resource::builder()
                .with_service_name(config.service_name.clone())
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build();
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build();
            Ok(Some(Self { provider }))
        }

        /// The layer that turns spans into exported traces.
        pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
        where
            S: tracing::Subscriber + for<'span> LookupSpan<'span>,
        {
            let tracer = self.provider.tracer("zebrunner-mcp");
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // Thread ids and source locations say nothing an operator needs.
                .with_threads(false)
                .with_location(false)
        }

        /// Send the spans not yet sent, waiting for the collector at most its timeout.
        pub fn shutdown(self) {
            if let Err(error) = self.provider.shutdown() {
                tracing::warn!(%error, "could not send the last traces");
            }
        }
    }
}

#[cfg(feature = "otlp")]
pub use export::Telemetry;

/// Without the feature `otlp`: nothing to export, and a warning when export was asked for.
#[cfg(not(feature = "otlp"))]
pub struct Telemetry;

#[cfg(not(feature = "otlp"))]
impl Telemetry {
    pub fn start(config: &TelemetryConfig) -> anyhow::Result<Option<Self>> {
        if config.otlp_endpoint.is_some() {
            anyhow::bail!(
                "telemetry.otlp_endpoint is set, but this binary was built without the feature \
                 `otlp`; traces are not exported (build with `--features otlp`, as the container \
                 image is)"
            );
        }
        Ok(None)
    }

    pub fn shutdown(self) {}
}
