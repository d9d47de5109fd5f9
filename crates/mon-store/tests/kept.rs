//! Kept state (`kept_state`): documents by kind and name, replaced on write, read
//! back by kind after the store is closed and opened again.

use chrono::Utc;
use mon_store::{KeptState, Store, StoreOptions, WriteBatch};
use serde_json::json;

fn kept(kind: &str, name: &str, body: serde_json::Value) -> KeptState {
    KeptState {
        kind: kind.to_string(),
        name: name.to_string(),
        body,
        at: Utc::now(),
    }
}

#[tokio::test]
async fn kept_state_is_replaced_by_kind_and_name_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    for rows in [
        vec![
            kept("rule", "Hot", json!({"sent": 1})),
            kept("check", "Hot", json!({"failures": 1})),
            kept("check", "db", json!({"failures": 1})),
        ],
        vec![kept("check", "db", json!({"failures": 2}))],
    ] {
        store.write(WriteBatch::from_kept(rows)).await.unwrap();
    }
    store.close().await.unwrap();
    drop(store);

    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let read = |kind: &str| -> Vec<(String, serde_json::Value)> {
        store
            .kept_states_blocking(kind)
            .unwrap()
            .into_iter()
            .map(|k| (k.name, k.body))
            .collect()
    };
    assert_eq!(
        read("check"),
        [
            ("Hot".to_string(), json!({"failures": 1})),
            ("db".to_string(), json!({"failures": 2}))
        ]
    );
    assert_eq!(read("rule"), [("Hot".to_string(), json!({"sent": 1}))]);
    assert!(read("nothing").is_empty());
    store.close().await.unwrap();
}
