//! TCM Public API (`/api/public/v1`), HTTP Basic, projects by `projectKey`.

pub mod cases;
pub mod runs;
pub mod settings;
pub mod suites;

use axum::Router;
use axum::routing::{get, post};

use crate::Sandbox;

pub const BASE: &str = "/api/public/v1";

pub fn router() -> Router<Sandbox> {
    let r = Router::new()
        .route("/test-suites", get(suites::list).post(suites::create))
        .route(
            "/test-suites/{id}",
            get(suites::get_one).put(suites::replace),
        )
        .route("/test-cases", get(cases::list).post(cases::create))
        .route(
            "/test-cases/{ident}",
            get(cases::get_one).patch(cases::update),
        )
        .route("/test-runs", get(runs::list).post(runs::create))
        .route("/test-runs/{id}", get(runs::get_one).patch(runs::update))
        .route(
            "/test-runs/{id}/test-cases",
            get(runs::cases).post(runs::add_cases),
        )
        .route("/test-runs/{id}/test-cases:import", post(runs::import))
        .route(
            "/test-run-settings/result-statuses",
            get(settings::result_statuses),
        )
        .route(
            "/test-run-settings/configuration-groups",
            get(settings::configuration_groups),
        )
        .route(
            "/test-case-settings/automation-states",
            get(settings::automation_states),
        )
        .route("/test-case-settings/priorities", get(settings::priorities))
        .route(
            "/test-case-settings/custom-fields",
            get(settings::custom_fields),
        );
    Router::new().nest(BASE, r)
}
