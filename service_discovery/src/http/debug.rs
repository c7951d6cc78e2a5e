//! Routes that exist only when `ENABLE_DEBUG_ROUTES` is on: a request that
//! takes as long as asked, so shutdown tests can keep one in flight.

use std::time::Duration;

use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;

use super::error::ApiError;
use super::respond::Pretty;

const MAX_SLEEP_MS: u64 = 60_000;

#[derive(Deserialize)]
pub struct SleepQuery {
    ms: Option<String>,
}

pub async fn sleep(Query(query): Query<SleepQuery>) -> Result<Response, ApiError> {
    let ms = query
        .ms
        .as_deref()
        .and_then(|raw| raw.parse::<u64>().ok())
        .filter(|ms| *ms <= MAX_SLEEP_MS)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "ms: expected milliseconds from 0 to {MAX_SLEEP_MS}"
            ))
        })?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(Pretty(false).ok(&serde_json::json!({ "slept_ms": ms })))
}
