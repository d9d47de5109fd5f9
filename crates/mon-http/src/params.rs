//! Query and body parameters every API area reads alike: points in time, durations,
//! `from`/`to` ranges and `limit`; a bad value is 400 naming the parameter.

use crate::error::ApiError;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use chrono::{DateTime, Utc};

/// The largest `limit=` accepted.
pub const MAX_LIMIT: usize = 10_000;

/// A point in time from query parameter `param`: RFC 3339 or a duration ago (at most
/// 100 years, `mon_core::duration::MAX`); anything else is 400 naming the parameter.
pub fn parse_time(param: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    mon_core::duration::parse_time(text, now)
        .map_err(|e| ApiError::bad_request(format!("{param}={text:?}: {e}")))
}

/// A duration from query or body parameter `param` (at most 100 years); anything else
/// is 400 naming the parameter.
pub fn parse_duration(param: &str, text: &str) -> Result<std::time::Duration, ApiError> {
    mon_core::duration::parse(text)
        .map_err(|e| ApiError::bad_request(format!("{param}={text:?}: {e}")))
}

/// `from=` / `to=` of a range query (each RFC 3339 or a duration ago); default the last
/// hour up to `now`. A range that ends before it starts is 400.
pub fn parse_from_to(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = match from {
        Some(t) => parse_time("from", t, now)?,
        None => now - chrono::Duration::hours(1),
    };
    let to = match to {
        Some(t) => parse_time("to", t, now)?,
        None => now,
    };
    if to < from {
        return Err(ApiError::bad_request(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    Ok((from, to))
}

/// `limit=`: 100 when absent, else a whole number from 1 to [`MAX_LIMIT`].
pub fn parse_limit(text: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = text else { return Ok(100) };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "limit={text:?} must be a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

/// [`parse_limit`] as the store takes it (`u32`, saturating).
///
/// # Errors
/// As [`parse_limit`].
pub fn parse_store_limit(text: Option<&str>) -> Result<u32, ApiError> {
    parse_limit(text).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The query string read into `T`, or 400 with serde's message naming the parameter.
///
/// # Errors
/// 400 `bad_request` when the query string does not read as a `T`.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}
