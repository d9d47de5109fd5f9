//! Acknowledged means kept: writers post batches of every event kind (logs and errors
//! included) to the real `mon-server` at full speed; the server is killed with SIGKILL
//! mid-stream and restarted on the same store. Every batch answered 2xx is found whole
//! (application events in the store, log records by search, error occurrences in
//! `/api/v1/errors`), and no batch is found in part.

use mon_tests::{TestServer, eventually};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONFIG: &str = "
server:
  self_check: false
  auth:
    tokens:
      - { name: agent, token: ingest-token-789, role: ingest }
      - { name: grafana, token: read-token-456, role: read }
storage:
  path: {store}
logging:
  search: { level: info }
checks:
  - name: beat
    type: heartbeat
    period: 1h
metrics:
  host: false
";
const INGEST: &str = "ingest-token-789";
const READ: &str = "read-token-456";
const THREADS: u64 = 4;
/// Batches acknowledged (all threads together) before the kill.
const ACKS_BEFORE_KILL: usize = 400;
/// Rows each batch leaves in `app_events` and in `logs`.
const APP_ROWS: u32 = 7;
const LOG_ROWS: u32 = 3;

/// One batch of every event kind, each event carrying the batch's `id` where the
/// store keeps it.
fn batch(id: u64) -> Value {
    let tag = format!("b{id}");
    json!([
        {"type": "request", "endpoint": "/crash", "method": "POST", "status": 200,
         "latency_ms": 12.0, "request_bytes": id},
        {"type": "call_started", "call_id": tag},
        {"type": "call_ended", "call_id": tag, "duration_seconds": 3.0, "success": true},
        {"type": "voice_quality", "conversation_id": tag, "latency_ms": 80.0,
         "packet_loss": 0.01, "jitter_ms": 4.0, "mos": 4.2},
        {"type": "ai_usage", "provider": "openai", "service": "llm", "model": "gpt-4o",
         "units": id, "cost_usd": 0.0, "latency_ms": 300.0},
        {"type": "gauge", "name": "crash_queue_size", "value": id},
        {"type": "counter", "name": "crash_batches_total", "value": id},
        {"type": "heartbeat", "name": "beat"},
        {"type": "error", "kind": "CrashError", "message": format!("crash error {id}")},
        {"type": "log", "level": "warn", "message": format!("crashlog {tag} first")},
        {"type": "log", "level": "info", "message": format!("crashlog {tag} second")},
    ])
}

/// The batch id an `app_events` body carries.
fn app_event_id(body: &Value) -> Option<u64> {
    let tag = |key: &str| {
        body[key]
            .as_str()
            .and_then(|s| s.strip_prefix('b'))
            .and_then(|s| s.parse().ok())
    };
    match body["type"].as_str()? {
        "request" => body["request_bytes"].as_u64(),
        "call_started" | "call_ended" => tag("call_id"),
        "voice_quality" => tag("conversation_id"),
        "ai_usage" => body["units"].as_f64().map(|v| v as u64),
        "gauge" | "counter" => body["value"].as_f64().map(|v| v as u64),
        _ => None,
    }
}

/// The batch id in a stored log message (`crashlog b<id> …` or `crash error <id>`).
fn log_id(message: &str) -> Option<u64> {
    message
        .split_whitespace()
        .find_map(|w| w.strip_prefix('b').unwrap_or(w).parse().ok())
}

/// Posts batches until the server stops answering (or a bound is reached), recording
/// every id answered 2xx.
fn writer(url: String, thread: u64, acked: Arc<Mutex<BTreeSet<u64>>>, stop: Arc<AtomicBool>) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for seq in 0..100_000 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let id = thread * 1_000_000 + seq;
        let answer = client
            .post(format!("{url}/api/v1/events"))
            .bearer_auth(INGEST)
            .json(&batch(id))
            .send();
        match answer {
            Ok(r) if r.status().is_success() => {
                acked.lock().expect("lock").insert(id);
            }
            // 429 (busy): not accepted, nothing to find; carry on.
            Ok(r) if r.status() == 429 => {}
            Ok(r) => panic!(
                "batch {id}: unexpected answer {}: {}",
                r.status(),
                r.text().unwrap_or_default()
            ),
            // The server was killed.
            Err(_) => return,
        }
    }
}

#[test]
fn every_acknowledged_batch_of_every_kind_survives_sigkill() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("mon.db");
    let config = CONFIG.replace("{store}", &store.display().to_string());
    let mut server = TestServer::start(&config);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (url, acked, stop) = (server.url(), acked.clone(), stop.clone());
            std::thread::spawn(move || writer(url, t, acked, stop))
        })
        .collect();
    eventually(
        "batches acknowledged before the kill",
        Duration::from_secs(120),
        || {
            assert!(
                !writers.iter().any(std::thread::JoinHandle::is_finished),
                "a writer stopped before the kill"
            );
            acked.lock().expect("lock").len() >= ACKS_BEFORE_KILL
        },
    );
    server.child.kill().expect("SIGKILL");
    let status = server.child.wait().expect("exits");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by SIGKILL"
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();

    // The same store in a new process.
    let again = TestServer::start(&config);
    let conn = rusqlite::Connection::open(&store).expect("open the store");
    let mut app_rows: BTreeMap<u64, u32> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT body FROM app_events").expect("query");
    for body in stmt.query_map([], |r| r.get::<_, String>(0)).expect("rows") {
        let body: Value = serde_json::from_str(&body.expect("row")).expect("JSON body");
        let id = app_event_id(&body).unwrap_or_else(|| panic!("no batch id in {body}"));
        *app_rows.entry(id).or_default() += 1;
    }
    let mut log_rows: BTreeMap<u64, u32> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT message FROM logs WHERE source = 'ingest'")
        .expect("query");
    for message in stmt.query_map([], |r| r.get::<_, String>(0)).expect("rows") {
        let message = message.expect("row");
        let id = log_id(&message).unwrap_or_else(|| panic!("no batch id in {message:?}"));
        *log_rows.entry(id).or_default() += 1;
    }
    let stored: BTreeSet<u64> = app_rows.keys().chain(log_rows.keys()).copied().collect();

    let missing: Vec<u64> = acked.difference(&stored).copied().collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged batches are not stored: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)]
    );
    let partial: Vec<(u64, u32, u32)> = stored
        .iter()
        .map(|id| {
            (
                *id,
                app_rows.get(id).copied().unwrap_or(0),
                log_rows.get(id).copied().unwrap_or(0),
            )
        })
        .filter(|(_, app, logs)| (*app, *logs) != (APP_ROWS, LOG_ROWS))
        .collect();
    assert!(
        partial.is_empty(),
        "partly stored batches (id, app rows, log rows): {:?}",
        &partial[..partial.len().min(10)]
    );

    // Through the API of the restarted server: one error occurrence per stored batch,
    // and the logs of the last acknowledged batch of each writer found by search.
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| -> Value {
        client
            .get(format!("{}{path}", again.url()))
            .bearer_auth(READ)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    };
    let errors = get("/api/v1/errors");
    let crash_errors: u64 = errors["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|g| g["kind"] == "CrashError")
        .map(|g| g["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(crash_errors, stored.len() as u64, "{errors}");
    for thread in 0..THREADS {
        let Some(last) = acked
            .range(thread * 1_000_000..(thread + 1) * 1_000_000)
            .next_back()
        else {
            continue;
        };
        let found = get(&format!("/api/v1/logs?q=crashlog+b{last}"));
        assert_eq!(found["count"], 2, "batch {last}: {found}");
    }
}
