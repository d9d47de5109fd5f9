//! Application events added up in SQL by bucket and group, for stakeholder reports.

use chrono::{DateTime, TimeDelta, Utc};
use mon_store::{
    Aggregate, AppEventRow, EventTotalsQuery, Store, StoreError, StoreOptions, WriteBatch,
};
use serde_json::json;

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

fn row(
    ts: DateTime<Utc>,
    kind: &str,
    body: serde_json::Value,
    source: Option<&str>,
) -> AppEventRow {
    AppEventRow {
        ts,
        kind: kind.into(),
        body: body.to_string(),
        source: source.map(str::to_owned),
        arm: None,
    }
}

#[tokio::test]
async fn events_add_up_by_bucket_group_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let mut batch = WriteBatch::default();
    // Three calls in the first hour (two succeeded), one in the second, one labelled
    // `demo`, one before and one at the period's end (excluded).
    for (s, success, source) in [
        (-1, true, None),
        (10, true, None),
        (20, false, None),
        (30, true, None),
        (3_700, false, None),
        (40, true, Some("demo")),
        (7_200, true, None),
    ] {
        batch.app_events.push(row(
            at(s),
            "call_ended",
            json!({"success": success, "duration_seconds": 60.0}),
            source,
        ));
    }
    for (s, provider, call, cost) in [
        (5, "openai", "c1", 0.25),
        (6, "openai", "c1", 0.5),
        (7, "deepgram", "c2", 0.125),
    ] {
        batch.app_events.push(row(
            at(s),
            "ai_usage",
            json!({"provider": provider, "call_id": call, "cost_usd": cost}),
            None,
        ));
    }
    for (s, mos) in [(8, 4.4), (9, 3.0), (11, 3.6)] {
        batch
            .app_events
            .push(row(at(s), "voice_quality", json!({"mos": mos}), None));
    }
    batch.app_events.push(row(
        at(12),
        "voice_quality",
        json!({"latency_ms": 100.0}),
        None,
    ));
    store.write(batch).await.unwrap();

    let query =
        |buckets, group_by: Option<&str>, source: Option<&str>, aggregates| EventTotalsQuery {
            kind: "call_ended".into(),
            from: at(0),
            to: at(7_200),
            buckets,
            group_by: group_by.map(str::to_owned),
            source: source.map(str::to_owned),
            aggregates,
        };
    let calls = store
        .event_totals(query(
            2,
            None,
            None,
            vec![
                Aggregate::Equals("$.success".into(), json!(true)),
                Aggregate::Sum("$.duration_seconds".into()),
            ],
        ))
        .await
        .unwrap();
    let figures: Vec<(u32, u64, Vec<f64>)> = calls
        .iter()
        .map(|t| (t.bucket, t.events, t.values.clone()))
        .collect();
    assert_eq!(
        figures,
        vec![(0, 3, vec![2.0, 180.0]), (1, 1, vec![0.0, 60.0])]
    );
    let demo = store
        .event_totals(query(
            1,
            None,
            Some("demo"),
            vec![Aggregate::Count("$.success".into())],
        ))
        .await
        .unwrap();
    assert_eq!(demo.len(), 1);
    assert_eq!((demo[0].events, demo[0].values[0]), (1, 1.0));

    let cost = store
        .event_totals(EventTotalsQuery {
            kind: "ai_usage".into(),
            ..query(
                1,
                Some("$.provider"),
                None,
                vec![
                    Aggregate::Sum("$.cost_usd".into()),
                    Aggregate::Distinct("$.call_id".into()),
                ],
            )
        })
        .await
        .unwrap();
    let by_provider: Vec<(Option<String>, Vec<f64>)> = cost
        .iter()
        .map(|t| (t.group.clone(), t.values.clone()))
        .collect();
    assert_eq!(
        by_provider,
        vec![
            (Some("deepgram".into()), vec![0.125, 1.0]),
            (Some("openai".into()), vec![0.75, 1.0]),
        ]
    );

    // MOS at or above 3.6 among the events that have one.
    let mos = store
        .event_totals(EventTotalsQuery {
            kind: "voice_quality".into(),
            ..query(
                1,
                None,
                None,
                vec![
                    Aggregate::Count("$.mos".into()),
                    Aggregate::AtLeast("$.mos".into(), 3.6),
                ],
            )
        })
        .await
        .unwrap();
    assert_eq!((mos[0].events, mos[0].values.clone()), (4, vec![3.0, 2.0]));

    let bad = store
        .event_totals(query(
            1,
            None,
            None,
            vec![Aggregate::Sum("$.a') --".into())],
        ))
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::InvalidInput { .. }), "{bad}");
    let empty = store
        .event_totals(EventTotalsQuery {
            to: at(0) - TimeDelta::seconds(1),
            ..query(1, None, None, vec![])
        })
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("period"), "{empty}");
}
