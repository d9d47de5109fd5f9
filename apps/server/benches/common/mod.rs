//! What the server's benches share: a real server on a loopback port, and a plain
//! HTTP/1.0 client with the bench token.

use mon_config::{Config, Environment, load_text};
use mon_server::App;
use std::io::{Read, Write};
use std::net::TcpStream;

/// The token every bench config grants.
pub(crate) const TOKEN: &str = "bench-token";

/// Starts `App` from the YAML `text` on `runtime` and serves it on a free loopback
/// port; returns the port and the app (keep it alive for the bench).
pub(crate) fn serve(runtime: &tokio::runtime::Runtime, text: &str) -> (u16, App) {
    let config: Config = load_text(text, "bench.yaml", &Environment::default()).expect("config");
    runtime.block_on(async {
        let app = App::start(config).await.expect("app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let router = app.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (port, app)
    })
}

/// One request over a fresh connection: the status and the body.
pub(crate) fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Writes a day of 10-second samples (8,640) for each of `series` into `store`, the
/// `i`-th sample back in time valued `value(i)`, then rolls the day up one hour-window
/// pass at a time, as the server's maintenance would.
pub(crate) async fn fill_day(
    store: &mon_store::Store,
    series: &[(String, std::collections::BTreeMap<String, String>)],
    value: impl Fn(i64) -> f64,
) {
    let now = chrono::Utc::now();
    for (name, labels) in series {
        let samples: Vec<mon_store::Sample> = (0..8640)
            .map(|i| mon_store::Sample {
                name: name.clone(),
                labels: labels.clone(),
                ts: now - chrono::Duration::seconds(10 * i),
                value: value(i),
            })
            .collect();
        store
            .write(mon_store::WriteBatch::from_samples(samples))
            .await
            .expect("write");
    }
    let policy = mon_store::SeriesPolicy::default();
    for h in 0..=25 {
        for m in (0..60).step_by(2) {
            let at = now - chrono::Duration::hours(h) + chrono::Duration::minutes(m);
            store.series_maintenance(&policy, at).await.expect("rollup");
        }
    }
}
