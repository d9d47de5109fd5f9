//! `init` installs the process-wide subscriber once; this file runs in its own process.

#[test]
fn init_installs_once_and_refuses_a_second_subscriber() {
    let config = mon_logging::LoggingConfig::default();
    let handle = mon_logging::init(&config).expect("first init");
    assert!(tracing::dispatcher::has_been_set());
    assert!(mon_logging::global().is_some());
    assert_eq!(handle.stats().dropped(), 0);
    let err = mon_logging::init(&config).unwrap_err();
    assert!(
        matches!(err, mon_logging::LoggingError::AlreadyInitialized { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("call mon_logging::init once"),
        "{err}"
    );
}
