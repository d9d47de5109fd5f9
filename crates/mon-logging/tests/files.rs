//! Log files over a real directory: streams, daily and size rotation, retention at start
//! and at rotation, driven by an injectable clock; secrets never reach a file.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use mon_logging::files::{Clock, list_files};
use mon_logging::{Format, LogHandle, LogRetention, LoggingConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Buffer, with_logs};

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn at(y: i32, m: u32, d: u32) -> Self {
        TestClock(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap(),
        )))
    }
    fn advance(&self, by: chrono::TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
    fn clock(&self) -> Clock {
        let cell = self.0.clone();
        Arc::new(move || *cell.lock().unwrap())
    }
}

const DAY: Duration = Duration::from_secs(86_400);

fn setup(dir: &std::path::Path, max_file_size: u64, clock: &TestClock) -> (LogHandle, Buffer) {
    let config = LoggingConfig {
        dir: Some(dir.to_path_buf()),
        max_file_size,
        retention: LogRetention {
            app: DAY * 2,
            errors: DAY * 3,
            audit: DAY * 365,
            performance: DAY * 2,
        },
        ..LoggingConfig::default()
    };
    let buffer = Buffer::default();
    let handle = LogHandle::new(
        &config,
        Format::Pretty,
        Some(buffer.writer()),
        &|_| None,
        clock.clock(),
    )
    .unwrap();
    (handle, buffer)
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn streams_get_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(2026, 1, 4);
    let (logs, _) = setup(dir.path(), 50 * 1024 * 1024, &clock);
    with_logs(&logs, "info", || {
        tracing::info!("plain info");
        tracing::error!("an error");
        mon_logging::audit_log(
            "Call completed",
            &serde_json::json!({"call_id": "c1", "cost_usd": 0.12}),
        );
        drop(mon_logging::perf_timer("stt_transcription"));
    });
    logs.flush();
    let app = read(&dir.path().join("app/app_2026-01-04.log"));
    assert_eq!(app.lines().count(), 4, "{app}");
    let errors = read(&dir.path().join("errors/error_2026-01-04.log"));
    assert_eq!(errors.lines().count(), 1);
    assert!(errors.contains("an error"));
    let audit = read(&dir.path().join("audit/audit_2026-01-04.log"));
    let line: serde_json::Value = serde_json::from_str(audit.trim()).unwrap();
    assert_eq!(line["message"], "Call completed");
    assert_eq!(line["fields"]["details"]["cost_usd"], 0.12);
    let perf = read(&dir.path().join("performance/performance_2026-01-04.log"));
    let line: serde_json::Value = serde_json::from_str(perf.trim()).unwrap();
    assert_eq!(line["fields"]["timer"], "stt_transcription");
    assert!(line["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn rotates_daily_and_by_size_and_prunes_by_age() {
    let dir = tempfile::tempdir().unwrap();
    // Expired files from earlier runs, and files that are not logs.
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::create_dir_all(dir.path().join("errors")).unwrap();
    for name in [
        "app/app_2025-12-01.log",
        "app/app_2026-01-01.3.log",
        "app/app_2026-01-02.log",
        "app/notes.txt",
        "errors/error_2026-01-01.log",
    ] {
        std::fs::write(dir.path().join(name), "old\n").unwrap();
    }
    let clock = TestClock::at(2026, 1, 4);
    let (logs, _) = setup(dir.path(), 400, &clock);
    // Pruned at start: app keeps 2 days (2026-01-02 and later), errors 3 days (2026-01-01 and later).
    assert_eq!(
        list_files(&dir.path().join("app")),
        ["app_2026-01-02.log", "notes.txt"]
    );
    assert_eq!(
        list_files(&dir.path().join("errors")),
        ["error_2026-01-01.log"]
    );

    // Size: each line is ~250 bytes, so every second line starts a new file.
    with_logs(&logs, "info", || {
        for i in 0..4 {
            tracing::info!(i, padding = "x".repeat(20).as_str(), "line");
        }
    });
    logs.flush();
    let files = list_files(&dir.path().join("app"));
    assert!(files.len() >= 4, "{files:?}");
    assert!(
        files.contains(&"app_2026-01-04.log".to_string())
            && files.contains(&"app_2026-01-04.1.log".to_string()),
        "{files:?}"
    );
    for name in files.iter().filter(|n| n.starts_with("app_2026-01-04")) {
        let size = std::fs::metadata(dir.path().join("app").join(name))
            .unwrap()
            .len();
        assert!(size <= 400, "{name} is {size} bytes");
    }
    let total: usize = files
        .iter()
        .filter(|n| n.starts_with("app_2026-01-04"))
        .map(|n| read(&dir.path().join("app").join(n)).lines().count())
        .sum();
    assert_eq!(total, 4);

    // Two days later: a new file, and the rotation prunes what expired meanwhile.
    clock.advance(chrono::TimeDelta::days(2));
    with_logs(&logs, "info", || tracing::info!("two days later"));
    logs.flush();
    let files = list_files(&dir.path().join("app"));
    assert!(
        files.contains(&"app_2026-01-06.log".to_string()),
        "{files:?}"
    );
    assert!(
        !files.contains(&"app_2026-01-02.log".to_string()),
        "expired at rotation: {files:?}"
    );
    assert!(
        files.contains(&"app_2026-01-04.log".to_string()),
        "{files:?}"
    );
    assert!(files.contains(&"notes.txt".to_string()), "{files:?}");
}

#[test]
fn secrets_never_reach_console_or_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(2026, 1, 4);
    let config = LoggingConfig {
        dir: Some(dir.path().to_path_buf()),
        mask_patterns: vec!["sk-[A-Za-z0-9]{16,}".into()],
        ..LoggingConfig::default()
    };
    for format in [Format::Json, Format::Pretty] {
        let buffer = Buffer::default();
        let logs = LogHandle::new(
            &config,
            format,
            Some(buffer.writer()),
            &|_| None,
            clock.clock(),
        )
        .unwrap();
        with_logs(&logs, "info", emit_secrets);
        logs.flush();
        assert_no_secret(&buffer.text());
    }
    for stream in ["app", "errors", "audit"] {
        for name in list_files(&dir.path().join(stream)) {
            let text = read(&dir.path().join(stream).join(&name));
            assert!(!text.is_empty());
            assert_no_secret(&text);
        }
    }
}

/// Secrets logged every way a program might.
fn emit_secrets() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.SECRETSIGNATURE123";
    tracing::info!(
        password = "hunter2-SECRET",
        api_key = "ak-SECRET-1",
        "login with {jwt}"
    );
    tracing::error!(
        authorization = "Bearer SECRETBEARER123",
        cookie = "session=SECRETCOOKIE",
        "request failed"
    );
    tracing::warn!(
        note = "key sk-SECRETSECRETSECRET01 leaked",
        "Authorization: Bearer SECRETBEARER456"
    );
    mon_logging::audit_log(
        "token rotated",
        &serde_json::json!({"client_secret": "SECRET-CLIENT", "user": "ann"}),
    );
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains("SECRET"), "a secret leaked:\n{text}");
    assert!(text.contains("***"), "nothing was masked:\n{text}");
}

/// A writer stuck on the disk (here: on its clock) makes the caller drop INFO lines and
/// count them, never wait; ERROR and audit lines are kept; the drop is noted in `app/`.
#[test]
fn a_full_queue_drops_and_counts_low_lines_but_keeps_errors_and_audit() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Mutex::new(()));
    let entered = Arc::new(AtomicBool::new(false));
    let held = gate.lock().unwrap();
    let clock: Clock = {
        let gate = gate.clone();
        let entered = entered.clone();
        Arc::new(move || {
            entered.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(gate.lock().unwrap());
            Utc.with_ymd_and_hms(2026, 1, 4, 12, 0, 0).unwrap()
        })
    };
    let config = LoggingConfig {
        dir: Some(dir.path().to_path_buf()),
        queue_capacity: 2,
        ..LoggingConfig::default()
    };
    // The start-up prune reads the clock too: let it pass, then hold the writer.
    drop(held);
    let logs = LogHandle::new(&config, Format::Json, None, &|_| None, clock).unwrap();
    let held = gate.lock().unwrap();
    entered.store(false, Ordering::SeqCst);
    with_logs(&logs, "info", || {
        tracing::info!("first: taken by the writer, which then waits");
        mon_tests::eventually(
            "the writer to take the first line",
            Duration::from_secs(10),
            || entered.load(Ordering::SeqCst),
        );
        for i in 0..10 {
            tracing::info!(i, "queued or dropped");
        }
    });
    // Two lines fit the queue; the other eight were dropped without waiting.
    assert_eq!(logs.stats().dropped(), 8);
    drop(held);
    with_logs(&logs, "info", || {
        tracing::error!("kept");
        mon_logging::audit_log("kept too", &serde_json::json!({}));
    });
    logs.flush();
    let app = read(&dir.path().join("app/app_2026-01-04.log"));
    assert!(app.contains("\"dropped\":8"), "{app}");
    assert!(app.contains("kept") && app.contains("kept too"), "{app}");
    assert!(read(&dir.path().join("errors/error_2026-01-04.log")).contains("kept"));
    assert!(read(&dir.path().join("audit/audit_2026-01-04.log")).contains("kept too"));
}
