//! The AWS SDK's shared configuration.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The SDK's shared configuration, for crates that do not depend on the SDK themselves.
pub use aws_config::SdkConfig;

/// How the vault talks to AWS. Credentials, region and endpoint come from the standard
/// provider chain (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, web identity, instance
/// metadata), never from here.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Attempts per request, the first included; throttling and transient errors are retried
    /// with exponential backoff and jitter.
    pub max_attempts: u32,
    /// The first retry's backoff; each later one doubles it (capped at 20 s by the SDK).
    pub initial_backoff: Duration,
    /// Connecting to AWS.
    pub connect_timeout: Duration,
    /// One attempt, from sending to the whole answer.
    pub attempt_timeout: Duration,
    /// Every service at this URL instead of AWS's own (VPC endpoints, a local stand-in);
    /// `AWS_ENDPOINT_URL` does the same from the environment.
    pub endpoint_url: Option<String>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            endpoint_url: None,
        }
    }
}

/// The SDK configuration for `settings`: the standard provider chain, rustls on ring.
pub async fn load(settings: &AwsSettings) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.max_attempts.max(1))
                .with_initial_backoff(settings.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.connect_timeout)
                .operation_attempt_timeout(settings.attempt_timeout)
                .build(),
        )
        .load()
        .await
}
