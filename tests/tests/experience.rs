//! End-to-end: user experience and experiments on the real `mon-server`. Session,
//! feedback, feature and voice-quality events through `POST /api/v1/events` become rule
//! variables, `/metrics` families and stored rows (the comment masked); two variants of
//! an experiment are compared by `GET /api/v1/experiments/{name}`, and every figure of
//! the answer is checked against scipy (`tests/python/stats_check.py`) on the same raw
//! values.

use mon_tests::{TestServer, close, eventually, scipy_reference, written_files};
use serde_json::{Value, json};
use std::time::Duration;

const INGEST: &str = "ux-ingest-token";
const READ: &str = "ux-read-token";

const CONFIG: &str = "
server:
  auth:
    tokens:
      - { name: agent, token: ux-ingest-token, role: ingest }
      - { name: reader, token: ux-read-token, role: read }
storage:
  path: '{dir}/mon.db'
";

fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(READ)
        .send()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn post(server: &TestServer, events: &[Value]) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/events", server.url()))
        .bearer_auth(INGEST)
        .json(events)
        .send()
        .expect("POST /api/v1/events");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn metrics(server: &TestServer) -> String {
    reqwest::blocking::Client::new()
        .get(format!("{}/metrics", server.url()))
        .bearer_auth(READ)
        .send()
        .and_then(|r| r.text())
        .expect("GET /metrics")
}

#[test]
fn sessions_feedback_and_features_reach_variables_metrics_and_the_store() {
    let server = TestServer::start(CONFIG);
    let phone = "+1 415 555 0199";
    let events = [
        json!({"type":"session","session_id":"s1","phase":"start","user_id":"user_123"}),
        json!({"type":"session","session_id":"s2","phase":"start"}),
        json!({"type":"voice_quality","conversation_id":"s1","latency_ms":150.0,"packet_loss":0.0,"jitter_ms":5.0,"mos":4.5,"audio_level":0.8,"noise_level":0.1}),
        json!({"type":"feedback","rating":5,"category":"voice_quality","session_id":"s1","user_id":"user_123",
               "comment":format!("Great voice! Call me back on {phone}")}),
        json!({"type":"feedback","thumbs":"down","category":"answer"}),
        json!({"type":"feature","feature":"voice_command","session_id":"s1","duration_seconds":5.0}),
        json!({"type":"feature","feature":"voice_command"}),
        json!({"type":"session","session_id":"s1","phase":"end","outcome":"completed","turns":6,"duration_seconds":60.0,
               "experiment":"greeting","variant":"short"}),
    ];
    let (status, answer) = post(&server, &events);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 8, "{answer}");

    eventually("the experience variables", Duration::from_secs(10), || {
        let (_, snap) = get(&server, "/api/v1/snapshot");
        let v = &snap["values"];
        (v["active_sessions"] == 1.0
            && v["avg_rating"] == 5.0
            && v["csat_percent"] == 50.0
            && v["avg_session_duration_seconds"] == 60.0
            && v["avg_session_turns"] == 6.0
            && v["session_abandonment_rate"] == 0.0
            && v["avg_noise_level"] == 0.1)
            .then_some(())
            .ok_or(snap)
    });
    let text = metrics(&server);
    for line in [
        "mon_app_sessions_active 1",
        "mon_app_sessions_started_total 2",
        "mon_app_sessions_ended_total{outcome=\"completed\"} 1",
        "mon_app_feedback_total{category=\"answer\"} 1",
        "mon_app_feedback_satisfied_total{category=\"voice_quality\"} 1",
        "mon_app_feature_uses_total{feature=\"voice_command\"} 2",
        "mon_ingest_events_total{type=\"feedback\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from /metrics"
        );
    }

    // Bad events name their field; nothing of the batch is kept.
    for (event, field) in [
        (json!({"type":"feedback","rating":9}), "rating"),
        (
            json!({"type":"session","session_id":"s","phase":"end"}),
            "outcome",
        ),
        (
            json!({"type":"feature","feature":"f","experiment":"x"}),
            "variant",
        ),
    ] {
        let (status, bad) = post(
            &server,
            &[json!({"type":"feature","feature":"kept?"}), event],
        );
        assert_eq!(status, 400, "{bad}");
        let message = bad["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("\"{field}\"")), "{message}");
    }

    // Stored with its experiment; the comment kept for reading, masked.
    let db = rusqlite::Connection::open(server.dir.path().join("mon.db")).expect("the store");
    let arm: (String, String) = db
        .query_row(
            "SELECT experiment, variant FROM app_events WHERE type = 'session' AND experiment IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the session end with its arm");
    assert_eq!(arm, ("greeting".to_owned(), "short".to_owned()));
    let comment: String = db
        .query_row(
            "SELECT json_extract(body, '$.comment') FROM app_events WHERE type = 'feedback' AND body LIKE '%comment%'",
            [],
            |r| r.get(0),
        )
        .expect("the comment");
    assert!(
        comment.starts_with("Great voice! Call me back on "),
        "{comment}"
    );
    assert!(!comment.contains("555 0199"), "{comment}");
    let kept: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM app_events WHERE body LIKE '%kept?%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(kept, 0);
    for (file, text) in written_files(server.dir.path()) {
        assert!(!text.contains("555 0199"), "the caller's number in {file}");
    }
}

/// A small deterministic generator (no dependency): the same values every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One variant's raw values, sent as events and handed to scipy.
struct Arm {
    name: &'static str,
    calls: Vec<bool>,
    latencies: Vec<f64>,
    ratings: Vec<f64>,
    abandoned: Vec<bool>,
    costs: Vec<(f64, f64)>,
}

impl Arm {
    fn new(name: &'static str, seed: u64, success: f64, latency: f64, good: f64) -> Arm {
        let mut r = Lcg(seed);
        Arm {
            name,
            calls: (0..240).map(|_| r.next() < success).collect(),
            latencies: (0..180)
                .map(|_| (latency * (1.0 + 2.0 * r.next() * r.next())).round())
                .collect(),
            ratings: (0..90)
                .map(|_| (1.0 + (4.0 * r.next() + good).floor()).min(5.0))
                .collect(),
            abandoned: (0..120).map(|_| r.next() < 0.3 - good / 10.0).collect(),
            costs: (0..60)
                .map(|_| {
                    let c = |r: &mut Lcg| (r.next() * 1000.0).round() / 10_000.0;
                    (c(&mut r), c(&mut r))
                })
                .collect(),
        }
    }

    fn events(&self) -> Vec<Value> {
        let arm = |mut e: Value| {
            e["experiment"] = json!("tts-voice");
            e["variant"] = json!(self.name);
            e
        };
        let mut out = Vec::new();
        for (i, ok) in self.calls.iter().enumerate() {
            out.push(arm(json!({"type":"call_ended","call_id":format!("{}-{i}", self.name),"duration_seconds":30.0,"success":ok})));
        }
        for l in &self.latencies {
            out.push(arm(json!({"type":"request","endpoint":"/turn","method":"POST","status":200,"latency_ms":l})));
        }
        for r in &self.ratings {
            out.push(arm(json!({"type":"feedback","rating":*r as u8})));
        }
        for (i, a) in self.abandoned.iter().enumerate() {
            let outcome = if *a { "abandoned" } else { "completed" };
            out.push(arm(json!({"type":"session","session_id":format!("{}-{i}", self.name),"phase":"end","outcome":outcome})));
        }
        for (i, (llm, tts)) in self.costs.iter().enumerate() {
            let call = format!("{}-call-{i}", self.name);
            for (service, cost) in [("llm", llm), ("tts", tts)] {
                out.push(arm(json!({"type":"ai_usage","provider":"p","service":service,"model":"m","units":1.0,
                                    "cost_usd":cost,"latency_ms":100.0,"call_id":call})));
            }
        }
        out
    }

    fn successes(&self, v: &[bool]) -> [u64; 2] {
        [v.iter().filter(|x| **x).count() as u64, v.len() as u64]
    }

    fn cost_per_call(&self) -> Vec<f64> {
        self.costs.iter().map(|(a, b)| a + b).collect()
    }
}

/// The figures of the answer under the script's names, for one rate or sample.
fn figures(kind: &str, c: &Value) -> Vec<(&'static str, Option<f64>)> {
    let f = |v: &Value| v.as_f64();
    match kind {
        "rate" => vec![
            ("a_rate", f(&c["a"]["rate"])),
            ("a_low", f(&c["a"]["interval"]["low"])),
            ("a_high", f(&c["a"]["interval"]["high"])),
            ("b_rate", f(&c["b"]["rate"])),
            ("b_low", f(&c["b"]["interval"]["low"])),
            ("b_high", f(&c["b"]["interval"]["high"])),
            ("difference", f(&c["difference"])),
            ("difference_low", f(&c["difference_interval"]["low"])),
            ("difference_high", f(&c["difference_interval"]["high"])),
            ("z", f(&c["z"])),
            ("p_value", f(&c["p_value"])),
        ],
        _ => vec![
            ("a_mean", f(&c["means"]["a"]["mean"])),
            ("a_std_dev", f(&c["means"]["a"]["std_dev"])),
            ("b_mean", f(&c["means"]["b"]["mean"])),
            ("b_std_dev", f(&c["means"]["b"]["std_dev"])),
            ("difference", f(&c["means"]["difference"])),
            (
                "difference_low",
                f(&c["means"]["difference_interval"]["low"]),
            ),
            (
                "difference_high",
                f(&c["means"]["difference_interval"]["high"]),
            ),
            ("t", f(&c["means"]["t"])),
            ("df", f(&c["means"]["df"])),
            ("t_p_value", f(&c["means"]["p_value"])),
            ("u", f(&c["ranks"]["u"])),
            ("u_p_value", f(&c["ranks"]["p_value"])),
            ("a_p95", f(&c["ranks"]["a"]["percentiles"]["p95"])),
            ("b_p50", f(&c["ranks"]["b"]["percentiles"]["p50"])),
        ],
    }
}

#[test]
fn an_experiment_compares_its_variants_as_scipy_does() {
    let server = TestServer::start(CONFIG);
    let control = Arm::new("control", 7, 0.78, 420.0, 0.4);
    let b = Arm::new("b", 11, 0.86, 360.0, 0.9);
    for arm in [&control, &b] {
        for chunk in arm.events().chunks(500) {
            let (status, answer) = post(&server, chunk);
            assert_eq!(status, 200, "{answer}");
        }
    }

    let (status, list) = get(&server, "/api/v1/experiments");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["experiments"][0]["name"], "tts-voice");
    let counted: Vec<(String, u64)> = list["experiments"][0]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["variant"].as_str().unwrap_or_default().to_owned(),
                v["events"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let total = |a: &Arm| a.events().len() as u64;
    assert_eq!(
        counted,
        [
            ("b".to_owned(), total(&b)),
            ("control".to_owned(), total(&control))
        ]
    );

    let (status, answer) = get(&server, "/api/v1/experiments/tts-voice");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["control"], "control");
    let c = &answer["comparisons"][0];
    assert_eq!(c["variant"], "b");

    let rate = |name: &str, a: [u64; 2], b: [u64; 2]| json!({"case": name, "confidence": 0.95, "a": a, "b": b});
    let sample = |name: &str, a: &[f64], b: &[f64]| json!({"case": name, "confidence": 0.95, "a": a, "b": b});
    let input = json!({
        "rates": [
            rate("call_success_rate", control.successes(&control.calls), b.successes(&b.calls)),
            rate("abandonment_rate", control.successes(&control.abandoned), b.successes(&b.abandoned)),
        ],
        "samples": [
            sample("request_latency_ms", &control.latencies, &b.latencies),
            sample("rating", &control.ratings, &b.ratings),
            sample("ai_cost_per_call_usd", &control.cost_per_call(), &b.cost_per_call()),
        ],
    });
    let reference = scipy_reference(&input);
    let mut wrong = Vec::new();
    for (kind, group, section) in [("rate", "rates", "rates"), ("sample", "samples", "samples")] {
        for expected in reference[section].as_array().expect("cases") {
            let case = expected["case"].as_str().expect("case");
            let got = &c[group][case];
            assert!(got.is_object(), "{case} missing from {c}");
            for (name, value) in figures(kind, got) {
                let want = expected[name].as_f64();
                let fine = match (value, want) {
                    (Some(v), Some(w)) => close(v, w, 1e-6),
                    (None, None) => true,
                    _ => false,
                };
                if !fine {
                    wrong.push(format!("{case}.{name}: mon {value:?}, scipy {want:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The clear difference in call success is named as a finding.
    let findings = c["findings"].to_string();
    assert!(findings.contains("call_success_rate: b +"), "{findings}");

    // A control that is not a variant, a bad confidence and an unknown experiment.
    for (path, status, needle) in [
        (
            "/api/v1/experiments/tts-voice?control=zzz",
            400,
            "not a variant",
        ),
        (
            "/api/v1/experiments/tts-voice?confidence=1.5",
            400,
            "confidence=\"1.5\"",
        ),
        (
            "/api/v1/experiments/nope",
            404,
            "no events of experiment \"nope\"",
        ),
        ("/api/v1/experiments?since=yesterday", 400, "since="),
    ] {
        let (got, bad) = get(&server, path);
        assert_eq!(got, status, "{path}: {bad}");
        let message = bad["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {message}");
    }
}
