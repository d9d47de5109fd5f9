//! Keeps every check's uptime (1h / 24h / 7d / 30d) in the health registry, counted
//! from the stored check results: shortly after start, then every minute.

use mon_health::{HealthRegistry, Uptime};
use mon_store::Store;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the uptime figures are recomputed.
const REFRESH: Duration = Duration::from_secs(60);
/// The first computation waits for the first check results to be stored.
const FIRST: Duration = Duration::from_secs(2);

/// Starts the refresh loop; it ends when `stop` completes.
pub(crate) fn spawn(
    store: Store,
    health: HealthRegistry,
    stop: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + FIRST, REFRESH);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticks.tick() => refresh(&store, &health).await,
            }
        }
    })
}

/// Recomputes the uptime of every registered check.
pub(crate) async fn refresh(store: &Store, health: &HealthRegistry) {
    let names: Vec<String> = health.checks().into_iter().map(|c| c.name).collect();
    match store
        .check_uptimes(names.clone(), &Uptime::WINDOWS, chrono::Utc::now())
        .await
    {
        Ok(all) => {
            for (name, windows) in names.iter().zip(all) {
                let percents: Vec<Option<f64>> = windows.iter().map(|w| w.percent()).collect();
                health.set_uptime(name, Uptime::from_percentages(&percents));
            }
        }
        Err(e) => tracing::warn!(error = %e, "computing check uptime failed"),
    }
}
