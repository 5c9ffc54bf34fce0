//! Internal APIs (Bearer from IAM, projects by `projectId`).

pub mod files;
pub mod iam;
pub mod launch_actions;
pub mod launches;
pub mod milestones;
pub mod projects;
pub mod tcm;
pub mod test_logs;
pub mod widgets;

use axum::Router;
use axum::routing::{any, get, post};

use crate::Sandbox;

/// `POST /api/iam/v1/auth/token-exchange`, merged only when the token exchange is on.
pub fn token_exchange_router() -> Router<Sandbox> {
    Router::new().route(
        crate::token_exchange::TOKEN_EXCHANGE_PATH,
        post(iam::token_exchange),
    )
}

pub fn router() -> Router<Sandbox> {
    Router::new()
        .route("/api/iam/v1/auth/refresh", post(iam::refresh))
        .route("/api/projects/v1/projects", get(projects::list))
        .route("/api/projects/v1/projects/{key}", get(projects::get_one))
        .route("/api/projects/v1/projects-limit", get(projects::limit))
        .route("/api/reporting/v1/launches", get(launches::list))
        .route(
            "/api/reporting/v1/launches/{id}",
            get(launches::get_one).post(launch_actions::launch_action),
        )
        .route(
            "/api/reporting/v1/launches/{id}/attempts",
            get(launches::attempts),
        )
        .route(
            "/api/reporting/v1/launches/{id}/tests",
            get(launches::tests),
        )
        .route(
            "/api/reporting/v1/launches/{id}/tests/{test_id}",
            get(launches::test),
        )
        .route(
            "/api/reporting/v1/launches/{id}/tests/{test_id}/history",
            get(launches::history),
        )
        .route(
            "/api/reporting/v1/launches/{id}/test-sessions",
            get(launches::sessions),
        )
        .route(
            "/api/reporting/v1/launches/{id}/{action}",
            any(launch_actions::launch_sub_action),
        )
        .route(
            "/api/reporting/v1/launches/{id}/job/parameters",
            get(launches::job_parameters),
        )
        .route(
            "/api/test-execution-logs/v1/test-runs/{id}/tests/{test_id}/logs-and-screenshots",
            get(test_logs::logs),
        )
        .route("/files/{name}", get(files::file))
        .route("/artifacts/{*path}", get(files::artifact))
        .route("/api/reporting/v1/milestones", get(milestones::list))
        .route("/api/reporting/v1/widget-templates/sql", post(widgets::sql))
        .route(
            "/api/tcm/v1/test-case-settings/system-fields/automation-states",
            get(tcm::automation_states),
        )
        .route(
            "/api/tcm/v1/test-case-settings/system-fields/priorities",
            get(tcm::priorities),
        )
        .route(
            "/api/tcm/v1/test-case-settings/fields-layout",
            get(tcm::fields_layout),
        )
        .route(
            "/api/tcm/v1/test-cases/{id}/executions",
            get(tcm::executions),
        )
        .route("/api/tcm/v1/test-cases/{id}/changes", get(tcm::changes))
}
