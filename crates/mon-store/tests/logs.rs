//! Error groups and log search over a real SQLite file: grouping counts and bounded
//! samples, FTS queries with filters, retention.

use chrono::{DateTime, TimeDelta, Utc};
use mon_store::{ErrorRow, LogQuery, LogRow, LogWrite, Store, StoreOptions, WriteBatch};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    (dir, store)
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn error(fp: &str, minutes: i64, sample: Option<i64>) -> LogWrite {
    LogWrite::Error(ErrorRow {
        fingerprint: fp.into(),
        kind: "TimeoutError".into(),
        message: "timeout after <n>".into(),
        location: "agent.rs:10".into(),
        timestamp: at(minutes),
        sample: sample.map(|n| serde_json::json!({ "n": n })),
        max_samples: 3,
    })
}

fn log(minutes: i64, level: &str, message: &str, call_id: Option<&str>) -> LogWrite {
    LogWrite::Log(LogRow {
        timestamp: at(minutes),
        level: level.into(),
        logger: "voice_agent::stt".into(),
        message: message.into(),
        call_id: call_id.map(str::to_string),
        source: "ingest".into(),
        fields: serde_json::json!({ "provider": "deepgram" }),
    })
}

#[tokio::test]
async fn errors_group_by_fingerprint_with_bounded_samples() {
    let (_dir, store) = open();
    let mut writes = vec![
        error("aaaa", 5, Some(1)),
        error("aaaa", 1, None),
        error("bbbb", 2, Some(9)),
    ];
    writes.extend((2..=6).map(|n| error("aaaa", 3, Some(n))));
    store.write(WriteBatch::from_logs(writes)).await.unwrap();

    let a = store.error_group("aaaa").await.unwrap().unwrap();
    assert_eq!(a.count, 7);
    assert_eq!(a.first_seen, at(1));
    assert_eq!(a.last_seen, at(5));
    let kept: Vec<i64> = a.samples.iter().map(|s| s["n"].as_i64().unwrap()).collect();
    assert_eq!(kept, [4, 5, 6], "the newest 3 samples");
    assert_eq!(store.error_group("cccc").await.unwrap(), None);

    let groups = store.error_groups(None, 10).await.unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g.fingerprint.as_str())
            .collect::<Vec<_>>(),
        ["aaaa", "bbbb"]
    );
    assert_eq!(store.error_groups(Some(at(3)), 10).await.unwrap().len(), 1);
    assert_eq!(store.new_error_groups(at(2)).await.unwrap(), 1);
    assert_eq!(store.new_error_groups(at(0)).await.unwrap(), 2);
    store.close().await.unwrap();
}

/// (text, level, call, since minutes) → messages, newest first.
type Case<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    &'a [&'a str],
);

#[tokio::test]
async fn log_search_by_text_level_call_and_time() {
    let (_dir, store) = open();
    store
        .write(WriteBatch::from_logs(vec![
            log(1, "warn", "STT timeout after 30s", Some("call-1")),
            log(
                2,
                "error",
                "LLM provider refused the request",
                Some("call-1"),
            ),
            log(3, "info", "transcription finished", Some("call-2")),
            log(4, "error", "STT timeout after 45s", Some("call-2")),
        ]))
        .await
        .unwrap();
    let search =
        |text: Option<&str>, level: Option<&str>, call: Option<&str>, since: Option<i64>| {
            let store = store.clone();
            let query = LogQuery {
                text: text.map(str::to_string),
                min_level: level.map(str::to_string),
                call_id: call.map(str::to_string),
                since: since.map(at),
                until: None,
                limit: 100,
            };
            async move {
                store
                    .search_logs(query)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.message)
                    .collect::<Vec<_>>()
            }
        };
    // (text, level, call, since) → messages, newest first
    let cases: &[Case] = &[
        (
            Some("timeout"),
            None,
            None,
            None,
            &["STT timeout after 45s", "STT timeout after 30s"],
        ),
        (
            Some("stt timeout"),
            Some("error"),
            None,
            None,
            &["STT timeout after 45s"],
        ),
        (
            Some("transcri*"),
            None,
            None,
            None,
            &["transcription finished"],
        ),
        (
            Some("deepgram"),
            Some("error"),
            Some("call-1"),
            None,
            &["LLM provider refused the request"],
        ),
        (
            None,
            Some("warn"),
            None,
            Some(2),
            &["STT timeout after 45s", "LLM provider refused the request"],
        ),
        (Some("\"OR NOT ("), None, None, None, &[]),
        (Some("nothing-like-this"), None, None, None, &[]),
    ];
    for (text, level, call, since, want) in cases {
        assert_eq!(
            search(*text, *level, *call, *since).await,
            *want,
            "{text:?} {level:?} {call:?} {since:?}"
        );
    }
    let err = store
        .search_logs(LogQuery {
            min_level: Some("loud".into()),
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown level"), "{err}");
    store.close().await.unwrap();
}

#[tokio::test]
async fn prune_deletes_old_records_and_groups() {
    let (_dir, store) = open();
    store
        .write(WriteBatch::from_logs(vec![
            log(1, "warn", "old timeout", None),
            log(10, "warn", "new timeout", None),
            error("old", 1, None),
            error("new", 10, None),
        ]))
        .await
        .unwrap();
    store
        .write(WriteBatch::from_logs(vec![LogWrite::Prune {
            before: at(5),
            limit: 1000,
        }]))
        .await
        .unwrap();
    let all = store
        .search_logs(LogQuery {
            text: Some("timeout".into()),
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        ["new timeout"]
    );
    // Control characters in the words separate them; a NUL does not end the query.
    let hostile = store
        .search_logs(LogQuery {
            text: Some("\u{0}new\u{94}\u{7}timeout".into()),
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(hostile.len(), 1);
    let groups = store.error_groups(None, 10).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].fingerprint, "new");
    store.close().await.unwrap();
}
