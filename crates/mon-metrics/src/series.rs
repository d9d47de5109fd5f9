//! Stored series as the API reads them: a [`SeriesSelector`] (a metric name and the labels a
//! series must carry, written `k=v,k2=v2`) and its points over a range, read from the
//! store's rollups.

use chrono::{DateTime, Utc};
use mon_store::{SeriesPoints, Store, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;

/// A label selector pair that is not `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("labels: {pair:?} is not key=value (labels=endpoint=/x,method=GET)")]
#[non_exhaustive]
pub struct InvalidSelector {
    /// The pair as written.
    pub pair: String,
}

/// Which stored series to read: every series named `name` whose labels include all of
/// `labels`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeriesSelector {
    /// The metric name.
    pub name: String,
    /// The labels a series must carry (it may carry more).
    pub labels: BTreeMap<String, String>,
}

impl SeriesSelector {
    /// The series named `name` with `labels` written `k=v,k2=v2`: keys and values are
    /// trimmed, empty pairs skipped, a later key replaces an earlier one.
    pub fn parse(name: &str, labels: &str) -> Result<SeriesSelector, InvalidSelector> {
        let labels = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').ok_or_else(|| InvalidSelector {
                    pair: pair.to_owned(),
                })?;
                Ok((k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(SeriesSelector {
            name: name.to_owned(),
            labels,
        })
    }

    /// The selected series' points over `[from, to]`, in `step` buckets (`None`: the
    /// resolution's own), at the resolution the range calls for
    /// ([`Store::query_series`]).
    pub async fn points(
        &self,
        store: &Store,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Option<Duration>,
    ) -> Result<Vec<SeriesPoints>, StoreError> {
        store
            .query_series(&self.name, &self.labels, from, to, step)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(labels: &str, expected: Result<&[(&str, &str)], &str>) {
        let parsed = SeriesSelector::parse("latency_ms", labels);
        match expected {
            Ok(pairs) => {
                let selector = parsed.unwrap_or_else(|e| panic!("{labels:?}: {e}"));
                assert_eq!(selector.name, "latency_ms");
                let want: BTreeMap<String, String> = pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                assert_eq!(selector.labels, want, "{labels:?}");
            }
            Err(message) => {
                let error = parsed.expect_err(labels);
                assert_eq!(error.to_string(), message, "{labels:?}");
            }
        }
    }

    #[test]
    fn label_selectors() {
        check("", Ok(&[]));
        check("endpoint=/x", Ok(&[("endpoint", "/x")]));
        check(
            " endpoint = /x ,method=GET",
            Ok(&[("endpoint", "/x"), ("method", "GET")]),
        );
        check("a=1,,b=2,", Ok(&[("a", "1"), ("b", "2")]));
        check("a=1,a=2", Ok(&[("a", "2")]));
        check("q=a=b", Ok(&[("q", "a=b")]));
        check("k=", Ok(&[("k", "")]));
        check(
            "a=1,oops",
            Err("labels: \"oops\" is not key=value (labels=endpoint=/x,method=GET)"),
        );
    }

    #[tokio::test]
    async fn points_are_the_stored_series_with_the_selected_labels() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("store");
        let now = Utc::now();
        let sample = |endpoint: &str, value: f64| mon_store::Sample {
            name: "latency_ms".into(),
            labels: BTreeMap::from([("endpoint".to_owned(), endpoint.to_owned())]),
            ts: now - chrono::Duration::seconds(30),
            value,
        };
        store
            .write(mon_store::WriteBatch::from_samples(vec![
                sample("/a", 10.0),
                sample("/b", 20.0),
            ]))
            .await
            .expect("write");
        let from = now - chrono::Duration::hours(1);
        let all = SeriesSelector::parse("latency_ms", "").expect("selector");
        assert_eq!(
            all.points(&store, from, now, None)
                .await
                .expect("query")
                .len(),
            2
        );
        let one = SeriesSelector::parse("latency_ms", "endpoint=/b").expect("selector");
        let series = one.points(&store, from, now, None).await.expect("query");
        assert_eq!(series.len(), 1, "{series:?}");
        assert_eq!(series[0].labels["endpoint"], "/b");
        assert_eq!(
            series[0].points.iter().map(|p| p.max).collect::<Vec<_>>(),
            [20.0]
        );
        let backwards = one.points(&store, now, from, None).await;
        assert!(
            matches!(backwards, Err(StoreError::InvalidInput { .. })),
            "{backwards:?}"
        );
        store.close().await.expect("close");
    }
}
