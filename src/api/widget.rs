//! `GET /autopilot/feedback.js`: the feedback widget (assets/feedback.js), public and cacheable,
//! for a product's pages to include with a `<script>` tag.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::ApiState;

/// The widget's source, built into the binary.
pub const FEEDBACK_JS: &str = include_str!("../../assets/feedback.js");

/// The widget's route.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/autopilot/feedback.js", get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        FEEDBACK_JS,
    )
}
