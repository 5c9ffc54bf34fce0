//! Progress and cancellation for tools that read many Zebrunner pages.
//!
//! A tool takes the call's `RequestContext` and wraps it in [`Progress`].
//! Before each Zebrunner page it calls [`Progress::before_page`], which stops
//! the tool when the client cancelled the request; after it, it calls
//! [`Progress::after_page`], which sends a `notifications/progress` once the
//! tool has read more than [`QUIET_PAGES`] pages and the request carries a
//! progress token.

use rmcp::{
    RoleServer,
    model::{ProgressNotificationParam, ProgressToken},
    service::RequestContext,
};

use super::error::ToolError;

/// Pages read without notifications: short answers stay quiet.
pub const QUIET_PAGES: u32 = 2;

pub struct Progress {
    context: RequestContext<RoleServer>,
    token: Option<ProgressToken>,
    pages: u32,
}

impl Progress {
    pub fn new(context: RequestContext<RoleServer>) -> Self {
        let token = context.meta.get_progress_token();
        Self {
            context,
            token,
            pages: 0,
        }
    }

    /// Zebrunner pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Refuse to go on once the client has cancelled the request.
    pub fn before_page(&self) -> Result<(), ToolError> {
        if self.context.ct.is_cancelled() {
            Err(ToolError::Zebrunner(zebrunner_client::Error::Other(
                "the client cancelled this request; no further Zebrunner pages were read".into(),
            )))
        } else {
            Ok(())
        }
    }

    /// Count a page; report progress (`done` of `total` items) when the
    /// tool has gone past the quiet pages.
    pub async fn after_page(&mut self, done: u64, total: Option<u64>, what: &str) {
        self.pages += 1;
        let Some(token) = &self.token else { return };
        if self.pages <= QUIET_PAGES {
            return;
        }
        let mut param = ProgressNotificationParam::new(token.clone(), done as f64)
            .with_message(format!("{what}: read {} Zebrunner pages", self.pages));
        if let Some(total) = total {
            param = param.with_total(total as f64);
        }
        if let Err(error) = self.context.peer.notify_progress(param).await {
            tracing::debug!(%error, "progress notification not delivered");
        }
    }
}
