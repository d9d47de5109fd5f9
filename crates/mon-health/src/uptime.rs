//! Every check's uptime (1h / 24h / 7d / 30d) in the [`HealthRegistry`], counted from
//! the check results in the store: shortly after start, then every minute.

use crate::{HealthRegistry, Uptime};
use mon_store::Store;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the uptime figures are recomputed.
const REFRESH: Duration = Duration::from_secs(60);
/// The first computation waits for the first check results to be stored.
const FIRST: Duration = Duration::from_secs(2);

/// Starts the uptime refresh loop over `store`; it ends when `stop` completes.
pub fn spawn_uptime_refresh(
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
                _ = ticks.tick() => refresh_uptime(&store, &health).await,
            }
        }
    })
}

/// Recomputes the uptime of every check registered in `health` from `store`.
pub async fn refresh_uptime(store: &Store, health: &HealthRegistry) {
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
