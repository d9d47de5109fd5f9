//! Flap control end to end: a real HTTP check against a loopback server whose
//! answer the test flips, run by the real scheduler one round at a time.

use mon_core::Status;
use mon_health::{CheckConfig, HealthRegistry, Scheduler, SchedulerOptions};
use mon_tests::{Answer, Capture};

#[tokio::test]
async fn failure_and_success_thresholds_hold_the_status_back() {
    // A server whose answer the test flips.
    let server = Capture::start();
    let addr = server.addr();
    let check: CheckConfig = serde_json::from_value(serde_json::json!({
        "name": "api", "type": "http", "url": format!("http://{addr}/"),
        "failure_threshold": 3, "success_threshold": 2
    }))
    .unwrap();
    let registry = HealthRegistry::new();
    let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
    scheduler.add_config(&check).unwrap();

    // (status code the server answers, reported status, observed status, transition)
    let steps: &[(u16, Status, Status, Option<&str>)] = &[
        (200, Status::Healthy, Status::Healthy, None),
        (500, Status::Healthy, Status::Unhealthy, Some("failing")),
        (500, Status::Healthy, Status::Unhealthy, Some("failing")),
        (500, Status::Unhealthy, Status::Unhealthy, None),
        (500, Status::Unhealthy, Status::Unhealthy, None),
        (200, Status::Unhealthy, Status::Healthy, Some("recovering")),
        (200, Status::Healthy, Status::Healthy, None),
        // A blip shorter than the threshold is never reported.
        (503, Status::Healthy, Status::Unhealthy, Some("failing")),
        (200, Status::Healthy, Status::Healthy, None),
        (503, Status::Healthy, Status::Unhealthy, Some("failing")),
        (503, Status::Healthy, Status::Unhealthy, Some("failing")),
        (200, Status::Healthy, Status::Healthy, None),
    ];
    for (i, (answer, reported, observed, transition)) in steps.iter().enumerate() {
        server.answer(Answer::status(*answer));
        scheduler.run_once().await;
        let entry = registry.check("api").unwrap().entry();
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            (entry.status, entry.observed_status),
            (*reported, *observed),
            "step {i} (HTTP {answer}): {json}"
        );
        assert_eq!(json["transition"].as_str(), *transition, "step {i}: {json}");
        if transition.is_some() {
            assert!(json["reason"].as_str().is_some(), "step {i}: {json}");
        }
        let summary = registry.summary();
        assert_eq!(summary.status, *reported, "step {i}");
    }
}
