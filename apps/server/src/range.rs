//! Range queries answered as a stream: `GET /api/v1/metrics/query` (points with their
//! times and aggregates) and `GET /api/v1/metrics/range` (compact: bucket times once,
//! values as arrays).
//!
//! Both read through [`mon_store::Store::scan_series_blocking`] — each series' contiguous
//! rows in one read transaction, decoded into columns — and write each series' JSON as it is read, in chunks of
//! about [`CHUNK`] bytes through a channel [`CHUNKS_IN_FLIGHT`] deep to the HTTP body.
//! What a query holds at once is therefore one series' columns and JSON (at most
//! [`mon_store::MAX_POINTS_PER_SERIES`] buckets with a step) plus three chunks, whatever
//! the number of series: about 1.5 MB at worst, some 100 kB for a day at one-minute steps.
//! An error before the first chunk is an error answer; after it, the body is cut short
//! (the client sees incomplete JSON) and the error is logged.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use mon_api::answers::{
    CompactRangeAnswer, CompactSeriesView, PointView, SeriesPointsView, SeriesQueryAnswer,
};
use mon_http::ApiError;
use mon_store::{RangePlan, SeriesColumns, Store, StoreError};
use std::collections::BTreeMap;

/// A chunk is sent once it holds about this many bytes.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for a slow client at most.
const CHUNKS_IN_FLIGHT: usize = 2;

/// Which statistics a compact answer carries besides the means (`stats=min,max,...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    min: bool,
    max: bool,
    count: bool,
    sum: bool,
}

impl Stats {
    /// Whether the least or greatest values are asked for (read only then).
    pub(crate) fn extremes(self) -> bool {
        self.min || self.max
    }

    /// `stats=` as written: names separated by commas.
    pub(crate) fn parse(text: &str) -> Result<Stats, ApiError> {
        let mut stats = Stats::default();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "min" => stats.min = true,
                "max" => stats.max = true,
                "count" => stats.count = true,
                "sum" => stats.sum = true,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "stats={other}: unknown statistic; use min, max, count, sum"
                    )));
                }
            }
        }
        Ok(stats)
    }
}

/// The answer's shape.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// `series[].points[]` with `ts`, `avg`, `min`, `max`, `count`, `sum`: the buckets
    /// that hold samples.
    Full,
    /// One value per bucket, `null` for a gap.
    Compact(Stats),
}

/// The series of `name` whose labels include `labels`, over `plan`, streamed as JSON.
pub(crate) async fn answer(
    store: &Store,
    name: String,
    labels: BTreeMap<String, String>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    plan: RangePlan,
    shape: Shape,
) -> Result<Response, ApiError> {
    // The envelope with an empty series list, cut before its closing `]}`: the series
    // follow, then the end.
    let envelope = match shape {
        Shape::Full => serde_json::to_vec(&SeriesQueryAnswer {
            name: name.clone(),
            from,
            to,
            series: Vec::new(),
        }),
        Shape::Compact(_) => serde_json::to_vec(&CompactRangeAnswer {
            name: name.clone(),
            from,
            to,
            resolution: plan.resolution.as_str().to_owned(),
            start_ms: plan.from_ms,
            step_ms: plan.step_ms,
            buckets: plan.buckets(),
            series: Vec::new(),
        }),
    }
    .map_err(|e| ApiError::internal("encoding a range answer", &e))?;
    let mut buf = envelope;
    buf.truncate(buf.len().saturating_sub(2));

    let (tx, mut rx) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks { buf, tx, series: 0 };
        let scanned = store.scan_series_blocking(&name, &labels, &plan, &mut |series| {
            out.series(|buf| match shape {
                Shape::Full => serde_json::to_writer(buf, &full(&name, series, &plan)),
                Shape::Compact(stats) => serde_json::to_writer(buf, &compact(series, &plan, stats)),
            })
        });
        match scanned {
            Ok(_) => out.finish(),
            Err(StoreError::Internal { reason }) if reason == GONE => {}
            Err(e) => {
                tracing::warn!(metric = %name, error = %e, "a range query failed");
                let _ = out.tx.blocking_send(Err(e));
            }
        }
    });
    // The first chunk decides the status: an error before it is an error answer.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(e.into()),
        None => {
            return Err(ApiError::internal(
                "a range query ended without an answer",
                &std::io::Error::other("the reading thread ended"),
            ));
        }
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| {
            let chunk = chunk.map_err(std::io::Error::other);
            (chunk, rx)
        })
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// Why a scan stopped when the client went away (not an error worth a log line).
const GONE: &str = "the client went away";

/// The answer's bytes on their way to the HTTP body.
struct Chunks {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, StoreError>>,
    series: usize,
}

impl Chunks {
    /// Appends one series (`encode` writes its JSON) and sends the buffer once it is full.
    fn series(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        if self.series > 0 {
            self.buf.push(b',');
        }
        self.series += 1;
        encode(&mut self.buf).map_err(|e| StoreError::Internal {
            reason: format!("encoding a series: {e}"),
        })?;
        if self.buf.len() >= CHUNK {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK * 2));
            self.tx
                .blocking_send(Ok(Bytes::from(chunk)))
                .map_err(|_| StoreError::Internal {
                    reason: GONE.to_owned(),
                })?;
        }
        Ok(())
    }

    /// Closes the series list and the answer, and sends the rest.
    fn finish(mut self) {
        self.buf.extend_from_slice(b"]}");
        let _ = self.tx.blocking_send(Ok(Bytes::from(self.buf)));
    }
}

/// One series in the full shape: its buckets that hold samples.
fn full(name: &str, series: &SeriesColumns, plan: &RangePlan) -> SeriesPointsView {
    let points = series.to_points(name, plan);
    SeriesPointsView {
        name: points.name,
        labels: points.labels,
        resolution: plan.resolution.as_str().to_owned(),
        points: points
            .points
            .into_iter()
            .map(|p| PointView {
                ts: p.ts,
                count: p.count,
                avg: Some(p.avg),
                min: Some(p.min),
                max: Some(p.max),
                sum: Some(p.sum),
            })
            .collect(),
    }
}

/// One series in the compact shape: a value per bucket of the plan.
fn compact(series: &SeriesColumns, plan: &RangePlan, stats: Stats) -> CompactSeriesView {
    let buckets = usize::try_from(plan.buckets()).unwrap_or(usize::MAX);
    let dense = |value: &dyn Fn(usize) -> f64| {
        let mut out = vec![None; buckets];
        for (i, &b) in series.bucket.iter().enumerate() {
            if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
                *slot = Some(value(i));
            }
        }
        out
    };
    CompactSeriesView {
        labels: series.labels.clone(),
        values: dense(&|i| series.avg(i)),
        min: stats.min.then(|| dense(&|i| series.min[i])),
        max: stats.max.then(|| dense(&|i| series.max[i])),
        count: stats.count.then(|| {
            let mut out = vec![0; buckets];
            for (i, &b) in series.bucket.iter().enumerate() {
                if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
                    *slot = series.count[i];
                }
            }
            out
        }),
        sum: stats.sum.then(|| dense(&|i| series.sum[i])),
    }
}
