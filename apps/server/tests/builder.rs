//! `App::builder`: a check and a channel built in code run like configured ones.

mod common;

use common::{call, load, wait_for};
use mon_core::{CheckOutcome, HealthCheck, Notification, Notifier, NotifyError, async_trait};
use mon_server::App;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Up;

#[async_trait]
impl HealthCheck for Up {
    fn kind(&self) -> &str {
        "up"
    }
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy(Duration::ZERO, "up from code")
    }
}

#[derive(Default)]
struct Heard(Mutex<Vec<String>>);

#[async_trait]
impl Notifier for Heard {
    fn name(&self) -> &str {
        "heard"
    }
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let mut heard = self
            .0
            .lock()
            .map_err(|_| NotifyError::transient("poisoned"))?;
        heard.extend(notification.alerts.iter().map(|a| a.rule.clone()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_built_in_code_run_like_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    let text = "storage:\n  path: {dir}/mon.db\nmetrics:\n  host: false\nserver:\n  self_check: false\n\
         alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  channels: []\n  rules:\n\
         \x20   - { name: Code check up, expr: 'checks.code.status == \"healthy\"', severity: info }\n";
    let config = load(text, &dir, &[]);
    let heard = Arc::new(Heard::default());
    let app = App::builder(config)
        .check(
            "code",
            Arc::new(Up),
            Duration::from_secs(1),
            Duration::from_secs(1),
            true,
        )
        .channel(heard.clone())
        .start()
        .await
        .expect("app starts");
    wait_for("the check built in code to report", async || {
        let (_, check) = call(&app, "GET", "/api/v1/checks/code", None).await;
        check["status"] == "healthy"
    })
    .await;
    wait_for("the channel built in code to hear the alert", async || {
        heard.0.lock().unwrap().iter().any(|r| r == "Code check up")
    })
    .await;
    app.shutdown().await;
}
