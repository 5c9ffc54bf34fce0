//! Launch actions (Reporting API, Bearer, `projectId`): the CI job
//! parameters of a launch (R15, a read), and the two launch writes, built
//! as [`WriteRequest`]s so a caller previews exactly what
//! [`ZebrunnerClient::write`] will send: rerun a launch's failures (R14) and
//! build a launch's CI job again (R16).
//!
//! Both are POSTs and never retried. A 403 on a rerun is
//! [`crate::ErrorKind::Forbidden`]: the account lacks [`RERUN_PERMISSION`].

use serde_json::{Map, Value};

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::JobParameter;
use crate::transport::Call;

use super::decode_items;
use super::writes::{WriteMethod, WriteRequest};

/// The IAM permission Zebrunner requires to rerun a launch.
pub const RERUN_PERMISSION: &str = "reporting:test-runs:rerun";

fn launch_path(launch_segment: String, rest: &[&str]) -> Vec<String> {
    ["api", "reporting", "v1", "launches"]
        .into_iter()
        .map(str::to_owned)
        .chain([launch_segment])
        .chain(rest.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// `POST /api/reporting/v1/launches/{id}:rerun?projectId&rerunFailures=true`
/// (no body): rerun the failed and aborted tests of a finished launch.
pub fn rerun_failures_request(project_id: i64, launch_id: i64) -> WriteRequest {
    WriteRequest::internal(
        WriteMethod::Post,
        project_id,
        launch_path(format!("{launch_id}:rerun"), &[]),
        format!("rerun of launch {launch_id} (IAM permission {RERUN_PERMISSION})"),
    )
    .query("rerunFailures", true)
}

/// `POST /api/reporting/v1/launches/{id}/job:build?projectId` with every job
/// parameter by name: start the launch's CI job again (a new launch).
pub fn job_build_request(
    project_id: i64,
    launch_id: i64,
    parameters: Map<String, Value>,
) -> WriteRequest {
    WriteRequest::internal(
        WriteMethod::Post,
        project_id,
        launch_path(launch_id.to_string(), &["job:build"]),
        format!("CI job of launch {launch_id}"),
    )
    .body(Value::Object(parameters))
}

impl ZebrunnerClient {
    /// The parameters of the CI job that ran a launch, with their current
    /// values (R15). A launch no CI job started (a Launch Launcher's) has
    /// none: Zebrunner answers 404.
    pub async fn job_parameters(
        &self,
        project_id: i64,
        launch_id: i64,
    ) -> Result<Vec<JobParameter>, Error> {
        let call = Call::internal(launch_path(launch_id.to_string(), &["job", "parameters"]))
            .query("projectId", project_id)
            .what(format!(
                "CI job parameters of launch {launch_id} in project id {project_id}"
            ))
            .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_the_ones_zebrunner_takes() {
        let rerun = rerun_failures_request(1, 1045);
        assert_eq!(
            rerun.path(),
            "/api/reporting/v1/launches/1045:rerun?projectId=1&rerunFailures=true"
        );
        assert_eq!(rerun.body, None);
        let mut params = Map::new();
        params.insert("build".into(), json!("1.2"));
        let build = job_build_request(1, 1045, params);
        assert_eq!(
            build.path(),
            "/api/reporting/v1/launches/1045/job:build?projectId=1"
        );
        assert_eq!(build.body, Some(json!({"build": "1.2"})));
    }
}
