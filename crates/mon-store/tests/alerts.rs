//! The alerting tables on a real SQLite file: alerts upserted and read back by
//! state and id, history in order, the outbox (a second enqueue of the same key is
//! a no-op; attempts move rows out of `pending`), silences, all surviving a reopen.

use chrono::{DateTime, Utc};
use mon_core::{Alert, AlertState, Notification, Severity, Transition};
use mon_store::{AlertWrite, OutboxState, Store, StoreOptions, WriteBatch};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn alert(id: &str, state: AlertState, updated: i64) -> Alert {
    mon_tests::alert("High CPU")
        .id(id)
        .fingerprint(&format!("fp-{id}"))
        .severity(Severity::Error)
        .state(state)
        .label("service", "api")
        .value(91.5)
        .started_at(at(0))
        .updated_at(at(updated))
        .build()
}

fn notification(key: &str) -> Notification {
    Notification::new(
        Transition::Firing,
        vec![alert("a1", AlertState::Firing, 1)],
        key,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerting_state_round_trips_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let event = |id: &str, kind: &str, secs| AlertWrite::Event {
        alert_id: id.into(),
        at: at(secs),
        kind: kind.into(),
        detail: "rule".into(),
    };
    store
        .write(WriteBatch::from_alerting(vec![
            AlertWrite::Alert(alert("a1", AlertState::Pending, 0)),
            event("a1", "pending", 0),
            AlertWrite::Alert(alert("a1", AlertState::Firing, 1)),
            event("a1", "firing", 1),
            event("a3", "firing", 10),
            event("a3", "acknowledged", 40),
            event("a3", "resolved", 100),
            event("a4", "firing", 10),
            event("a4", "resolved", 30),
            AlertWrite::Alert(alert("a2", AlertState::Resolved, 2)),
            AlertWrite::Enqueue {
                channel: "hook".into(),
                notification: notification("k1"),
                at: at(1),
            },
            AlertWrite::Enqueue {
                channel: "hook".into(),
                notification: notification("k1"),
                at: at(2),
            },
            AlertWrite::Enqueue {
                channel: "mail".into(),
                notification: notification("k1"),
                at: at(1),
            },
            AlertWrite::Enqueue {
                channel: "hook".into(),
                notification: notification("k2"),
                at: at(1),
            },
            AlertWrite::Silence {
                id: "s1".into(),
                body: serde_json::json!({ "id": "s1" }),
            },
        ]))
        .await
        .unwrap();
    store
        .write(WriteBatch::from_alerting(vec![
            AlertWrite::Attempt {
                channel: "hook".into(),
                key: "k1".into(),
                state: OutboxState::Delivered,
                attempts: 2,
                error: None,
                at: at(3),
            },
            AlertWrite::Attempt {
                channel: "hook".into(),
                key: "k2".into(),
                state: OutboxState::Failed,
                attempts: 1,
                error: Some("answered 400".into()),
                at: at(3),
            },
        ]))
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);

    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let open = store.open_alerts_blocking().unwrap();
    assert_eq!(open, vec![alert("a1", AlertState::Firing, 1)]);
    assert_eq!(
        store.alert("a2").await.unwrap().unwrap().state,
        AlertState::Resolved
    );
    assert!(store.alert("nope").await.unwrap().is_none());
    let recent: Vec<String> = store
        .recent_alerts(10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(recent, ["a2", "a1"]);
    let kinds: Vec<String> = store
        .alert_events("a1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["pending", "firing"]);
    let times = store.alert_response_times(at(-10)).await.unwrap();
    assert_eq!((times.acknowledged, times.resolved), (1, 2));
    assert_eq!(times.mean_time_to_acknowledge_seconds, Some(30.0));
    assert_eq!(times.mean_time_to_resolve_seconds, Some(55.0));
    let later = store.alert_response_times(at(11)).await.unwrap();
    assert_eq!(
        (
            later.acknowledged,
            later.resolved,
            later.mean_time_to_resolve_seconds
        ),
        (0, 0, None)
    );
    let pending = store.pending_notifications_blocking().unwrap();
    assert_eq!(
        pending.len(),
        1,
        "k1 on hook delivered, k2 failed, k1 on mail pending"
    );
    assert_eq!(
        (pending[0].channel.as_str(), pending[0].attempts),
        ("mail", 0)
    );
    assert_eq!(pending[0].notification, notification("k1"));
    for (channel, key, want) in [
        ("hook", "k1", Some("delivered")),
        ("hook", "k2", Some("failed")),
        ("hook", "k3", None),
    ] {
        assert_eq!(
            store
                .notification_state_blocking(channel, key)
                .unwrap()
                .as_deref(),
            want,
            "{key}"
        );
    }
    assert_eq!(
        store.silences_blocking().unwrap(),
        vec![serde_json::json!({ "id": "s1" })]
    );

    // Retention: resolved alerts with their history, finished notifications and
    // ended silences go; open alerts, pending notifications and live silences stay.
    let ended = serde_json::json!({ "id": "s2", "ends_at": "2023-11-14T22:13:21.5Z" });
    let live = serde_json::json!({ "id": "s3", "ends_at": "2099-01-01T00:00:00Z" });
    store
        .write(WriteBatch::from_alerting(vec![
            event("a2", "resolved", 2),
            AlertWrite::Silence {
                id: "s2".into(),
                body: ended,
            },
            AlertWrite::Silence {
                id: "s3".into(),
                body: live.clone(),
            },
            AlertWrite::Prune {
                before: at(1000),
                limit: 100,
            },
        ]))
        .await
        .unwrap();
    assert!(store.alert("a2").await.unwrap().is_none());
    assert!(store.alert_events("a2").await.unwrap().is_empty());
    assert_eq!(store.open_alerts_blocking().unwrap().len(), 1);
    assert_eq!(store.alert_events("a1").await.unwrap().len(), 2);
    assert_eq!(
        store.notification_state_blocking("hook", "k1").unwrap(),
        None
    );
    assert_eq!(store.pending_notifications_blocking().unwrap().len(), 1);
    assert_eq!(
        store.silences_blocking().unwrap(),
        vec![serde_json::json!({ "id": "s1" }), live]
    );
    store.close().await.unwrap();
}
