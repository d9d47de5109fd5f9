//! e2e step `restart`: a soak of 10 restarts of the real mon-server, alternating
//! SIGTERM and SIGKILL, while alerts fire and applications push events. A loopback
//! webhook receiver counts the notifications: exactly one `firing` per alert over
//! the whole soak, nothing else, and every alert keeps its id and `started_at`.

use anyhow::{Result, bail};
use mon_tests::alerts::{self, FIRING, FIRING_ALERTING, heard, open_alerts};
use mon_tests::{Capture, Stop, TestServer, free_port};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-restart-token";
const RESTARTS: usize = 10;

/// A tcp check to a closed port; the rules and the webhook channel are
/// [`FIRING_ALERTING`]. `{closed}` and `{receiver}` are filled in.
const CONFIG: &str = "
server:
  auth:
    tokens:
      - { name: ops, token: e2e-restart-token, role: admin }
storage:
  path: '{dir}/mon.db'
metrics:
  interval: 1s
checks:
  - { name: port, type: tcp, address: '127.0.0.1:{closed}', interval: 1s, timeout: 1s }
";

pub(crate) fn restart() -> Result<()> {
    crate::build_bins()?;
    match std::panic::catch_unwind(soak) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            bail!("e2e restart: {message}")
        }
    }
}

fn soak() -> Result<()> {
    let started = Instant::now();
    let receiver = Capture::start();
    let config = format!("{CONFIG}{FIRING_ALERTING}")
        .replace("{closed}", &free_port().to_string())
        .replace("{receiver}", &receiver.url("/hook"));
    let mut server = TestServer::start(&config);
    let before = alerts::wait_all_firing_and_notified(&server, TOKEN, &receiver, &FIRING);

    // Steady ingest: a request event every 50 ms, through every restart.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let ingest = {
        let (stop, accepted, url) = (stop.clone(), accepted.clone(), server.url());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let event = r#"{"type":"request","endpoint":"/rooms","method":"POST","status":200,"latency_ms":42}"#;
            // Bounded: at most 20 minutes of events, whatever happens.
            let deadline = Instant::now() + Duration::from_secs(1200);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let sent = client
                    .post(format!("{url}/api/v1/events"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(event)
                    .timeout(Duration::from_secs(2))
                    .send();
                if sent.is_ok_and(|r| r.status().is_success()) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    for round in 0..RESTARTS {
        let how = if round % 2 == 0 {
            Stop::Term
        } else {
            Stop::Kill
        };
        let since = chrono::Utc::now();
        server.restart(how);
        alerts::wait_settled(&server, TOKEN, since, "port", "Host Seen");
        let after = open_alerts(&server, TOKEN);
        for rule in FIRING {
            if after.get(rule) != before.get(rule) {
                bail!(
                    "restart {} ({how:?}): the alert of {rule:?} was {:?}, is {:?}",
                    round + 1,
                    before.get(rule),
                    after.get(rule)
                );
            }
        }
        eprintln!(
            "e2e restart: restart {} ({how:?}) kept every alert",
            round + 1
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = ingest.join();

    let heard = heard(&receiver);
    let firing = heard.iter().filter(|h| h.transition == "firing").count();
    let spurious = heard.len() - FIRING.len();
    for rule in FIRING {
        let id = &before[rule].id;
        let n = heard
            .iter()
            .filter(|h| h.transition == "firing" && h.id == *id)
            .count();
        if n != 1 {
            bail!("the alert of {rule:?} was notified as firing {n} times: {heard:?}");
        }
    }
    if spurious != 0 || firing != FIRING.len() {
        bail!("{spurious} spurious notifications over {RESTARTS} restarts: {heard:?}");
    }
    eprintln!(
        "e2e restart: {RESTARTS} restarts (SIGTERM and SIGKILL alternating) in {:.0} s, \
         {} alerts firing, {} notifications, 0 spurious, {} events ingested",
        started.elapsed().as_secs_f64(),
        FIRING.len(),
        heard.len(),
        accepted.load(Ordering::Relaxed)
    );
    Ok(())
}
