//! Security events read back from `app_events` by type, address, principal and time.

use chrono::{TimeDelta, Utc};
use mon_store::{AppEventRow, SecurityEventQuery, Store, StoreOptions, WriteBatch};
use serde_json::json;

#[tokio::test]
async fn security_events_filter_by_type_ip_principal_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let now = Utc::now();
    let mut batch = WriteBatch::default();
    for (ago, kind, body) in [
        (
            50,
            "auth",
            json!({"type":"auth","success":false,"method":"token","ip":"203.0.113.7","principal":"svc-1"}),
        ),
        (
            40,
            "auth",
            json!({"type":"auth","success":true,"method":"token","ip":"198.51.100.2","principal":"svc-2"}),
        ),
        (
            30,
            "security",
            json!({"type":"security","event":"ip_denied","severity":"warning","ip":"203.0.113.7"}),
        ),
        (
            20,
            "request",
            json!({"type":"request","endpoint":"/x","method":"GET","status":200,"latency_ms":1.0,"ip":"203.0.113.7"}),
        ),
        (
            10,
            "request",
            json!({"type":"request","endpoint":"/x","method":"GET","status":200,"latency_ms":1.0}),
        ),
        (
            3600,
            "auth",
            json!({"type":"auth","success":false,"method":"token","ip":"203.0.113.7"}),
        ),
    ] {
        batch.app_events.push(AppEventRow {
            ts: now - TimeDelta::seconds(ago),
            kind: kind.to_string(),
            body: body.to_string(),
            source: None,
            arm: None,
        });
    }
    store.write(batch).await.unwrap();
    let since = Some(now - TimeDelta::minutes(10));
    let read = |q: SecurityEventQuery| {
        let store = store.clone();
        async move {
            store
                .security_events(SecurityEventQuery { limit: 100, ..q })
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.kind, r.body["ip"].as_str().unwrap_or("-").to_string()))
                .collect::<Vec<_>>()
        }
    };
    let pair = |k: &str, ip: &str| (k.to_string(), ip.to_string());
    // Default: auth and security, newest first, since honoured.
    assert_eq!(
        read(SecurityEventQuery {
            since,
            ..Default::default()
        })
        .await,
        [
            pair("security", "203.0.113.7"),
            pair("auth", "198.51.100.2"),
            pair("auth", "203.0.113.7")
        ]
    );
    // By address, every type including requests that name it; the old one without since.
    assert_eq!(
        read(SecurityEventQuery {
            ip: Some("203.0.113.7".into()),
            kind: Some("request".into()),
            ..Default::default()
        })
        .await,
        [pair("request", "203.0.113.7")]
    );
    assert_eq!(
        read(SecurityEventQuery {
            ip: Some("203.0.113.7".into()),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        read(SecurityEventQuery {
            principal: Some("svc-2".into()),
            ..Default::default()
        })
        .await,
        [pair("auth", "198.51.100.2")]
    );
    // A quote in a parameter is data, not SQL.
    assert!(
        read(SecurityEventQuery {
            principal: Some("x' OR '1'='1".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let err = store
        .security_events(SecurityEventQuery {
            kind: Some("log".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown security event type"),
        "{err}"
    );
}
