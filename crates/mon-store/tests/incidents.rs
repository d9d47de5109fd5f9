//! Incidents and their updates in a real SQLite file: created with a first update,
//! updated, resolved, reopened, listed, and still there after the store is reopened.

mod common;

use mon_core::Severity;
use mon_store::{IncidentStatus, IncidentUpdate, NewIncident, Store, StoreOptions};

fn update(status: IncidentStatus, message: &str, at_ms: i64) -> IncidentUpdate {
    IncidentUpdate {
        at: common::at(at_ms),
        status,
        message: message.into(),
        author: "ops".into(),
    }
}

#[tokio::test]
async fn incidents_keep_their_updates_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let t0 = 1_800_000_000_000;
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let first = store
        .create_incident(NewIncident {
            title: "Calls drop".into(),
            severity: Severity::Critical,
            alert_id: Some("a-1".into()),
            update: update(IncidentStatus::Investigating, "Looking", t0),
        })
        .await
        .unwrap();
    assert_eq!(first.status, IncidentStatus::Investigating);
    assert_eq!(first.updates.len(), 1);
    assert_eq!(first.alert_id.as_deref(), Some("a-1"));
    let second = store
        .create_incident(NewIncident {
            title: "Slow STT".into(),
            severity: Severity::Warning,
            alert_id: None,
            update: update(IncidentStatus::Identified, "Provider slow", t0 + 1000),
        })
        .await
        .unwrap();
    assert_ne!(first.id, second.id);

    let resolved = store
        .add_incident_update(
            first.id,
            update(IncidentStatus::Resolved, "Fixed", t0 + 5000),
        )
        .await
        .unwrap()
        .expect("the incident exists");
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(common::at(t0 + 5000)));
    assert_eq!(resolved.updated_at, common::at(t0 + 5000));
    let messages: Vec<&str> = resolved
        .updates
        .iter()
        .map(|u| u.message.as_str())
        .collect();
    assert_eq!(messages, ["Looking", "Fixed"]);
    assert!(
        store
            .add_incident_update(9999, update(IncidentStatus::Monitoring, "x", t0))
            .await
            .unwrap()
            .is_none()
    );
    for refused in [
        store
            .add_incident_update(first.id, update(IncidentStatus::Monitoring, " ", t0))
            .await
            .map(drop),
        store
            .create_incident(NewIncident {
                title: "".into(),
                severity: Severity::Info,
                alert_id: None,
                update: update(IncidentStatus::Investigating, "m", t0),
            })
            .await
            .map(drop),
    ] {
        assert!(matches!(
            refused,
            Err(mon_store::StoreError::InvalidInput { .. })
        ));
    }
    store.close().await.unwrap();

    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let all = store.incidents(None, 10).await.unwrap();
    let titles: Vec<&str> = all.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["Slow STT", "Calls drop"], "newest first");
    assert_eq!(all[1].updates.len(), 2);
    // Resolved before the cut-off: only the open one.
    let recent = store
        .incidents(Some(common::at(t0 + 6000)), 10)
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].title, "Slow STT");
    assert_eq!(store.incidents(None, 1).await.unwrap().len(), 1);
    // A later update reopens a resolved incident.
    let reopened = store
        .add_incident_update(
            first.id,
            update(IncidentStatus::Investigating, "Back", t0 + 9000),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reopened.resolved_at, None);
    assert_eq!(reopened.status, IncidentStatus::Investigating);
    store.close().await.unwrap();
}
