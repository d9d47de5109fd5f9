//! Crash safety: a child process writes through the store and reports every acknowledged
//! batch; the parent kills it with SIGKILL mid-stream, reopens the store and finds every
//! acknowledged batch, whole, and no partial batch.
//!
//! The child is this same test binary, re-executed to run only `crash_child_writer` with
//! `CHILD_ENV` set; without that variable the child test returns at once.

mod common;

use common::{at, labels, sample};
use mon_core::CheckOutcome;
use mon_store::{CheckResultRow, Store, StoreOptions, WriteBatch};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "MON_STORE_CRASH_CHILD_DB";
const THREADS: usize = 4;
const SAMPLES_PER_BATCH: i64 = 20;
const ACKS_BEFORE_KILL: usize = 300;

fn batch(thread: usize, seq: i64) -> WriteBatch {
    let t = thread.to_string();
    let samples = (0..SAMPLES_PER_BATCH)
        .map(|k| {
            sample(
                "crash",
                &[("thread", &t)],
                seq * SAMPLES_PER_BATCH + k,
                seq as f64,
            )
        })
        .collect();
    let mut batch = WriteBatch::from_samples(samples);
    batch.check_results.push(CheckResultRow {
        check: format!("crash-{thread}"),
        outcome: CheckOutcome::healthy(Duration::from_millis(1), format!("batch {seq}"))
            .with_observed_at(at(seq)),
    });
    batch
}

/// The child: writes from several threads until it is killed, printing `acked <thread>
/// <seq>` after each batch is acknowledged. Bounded so that it ends on its own if the
/// parent never kills it.
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&path), StoreOptions::default()).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = store.clone();
            scope.spawn(move || {
                for seq in 0..200_000 {
                    store.write_blocking(batch(thread, seq)).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "acked {thread} {seq}").unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

#[test]
fn every_acknowledged_batch_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/mon.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    // Read the child's lines on a thread so the parent can wait with a deadline.
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let parse = |line: &str| -> Option<(usize, i64)> {
        let mut parts = line.strip_prefix("acked ")?.split(' ');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let mut acked = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < ACKS_BEFORE_KILL {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => acked.extend(parse(&line)),
            Err(e) => panic!(
                "the child stopped acknowledging after {} acks: {e}",
                acked.len()
            ),
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was killed mid-stream: {status}"
    );
    // Lines printed before the kill were printed after their commit: they count too.
    reader.join().unwrap();
    acked.extend(lines_rx.try_iter().filter_map(|line| parse(&line)));

    let store = Store::open(&path, StoreOptions::default()).expect("the store reopens cleanly");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    for thread in 0..THREADS {
        let l = labels(&[("thread", &thread.to_string())]);
        let samples = store
            .samples_blocking("crash", &l, at(0), at(i64::from(u32::MAX)))
            .unwrap();
        let mut per_batch: BTreeMap<i64, i64> = BTreeMap::new();
        for (ts, value) in &samples {
            assert_eq!(ts.timestamp_millis() / SAMPLES_PER_BATCH, *value as i64);
            *per_batch.entry(*value as i64).or_default() += 1;
        }
        let checks: BTreeSet<i64> = store
            .check_results_blocking(&format!("crash-{thread}"), None, usize::MAX)
            .unwrap()
            .iter()
            .map(|r| r.outcome.observed_at.timestamp_millis())
            .collect();
        // Every stored batch is whole: all its samples and its check result.
        for (seq, n) in &per_batch {
            assert_eq!(
                *n, SAMPLES_PER_BATCH,
                "thread {thread} batch {seq} is partial"
            );
            assert!(
                checks.contains(seq),
                "thread {thread} batch {seq} lost its check result"
            );
        }
        assert_eq!(checks.len(), per_batch.len(), "thread {thread}");
        // Every acknowledged batch is stored.
        for &(t, seq) in acked.iter().filter(|(t, _)| *t == thread) {
            assert!(
                per_batch.contains_key(&seq),
                "acknowledged batch {t}/{seq} is missing"
            );
        }
    }
}
