//! Project settings on the Public API: result statuses, configuration
//! groups and custom test-case fields.

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::{ConfigurationGroup, CustomField, ResultStatus};
use crate::transport::Call;

use super::decode_items;

impl ZebrunnerClient {
    /// Result statuses configured for test runs of the project.
    pub async fn result_statuses(&self, project_key: &str) -> Result<Vec<ResultStatus>, Error> {
        let call = Call::public(["test-run-settings", "result-statuses"])
            .query("projectKey", project_key)
            .what(format!("result statuses of project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_items).await
    }

    /// Configuration groups (and their options) of the project.
    pub async fn configuration_groups(
        &self,
        project_key: &str,
    ) -> Result<Vec<ConfigurationGroup>, Error> {
        let call = Call::public(["test-run-settings", "configuration-groups"])
            .query("projectKey", project_key)
            .what(format!("configuration groups of project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_items).await
    }

    /// Custom test-case fields of the project, with their system names,
    /// types and dropdown options.
    pub async fn custom_fields(&self, project_key: &str) -> Result<Vec<CustomField>, Error> {
        let call = Call::public(["test-case-settings", "custom-fields"])
            .query("projectKey", project_key)
            .what(format!("custom fields of project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_items).await
    }
}
