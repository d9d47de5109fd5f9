//! mon's own records under the privacy policy: a phone number, an e-mail address, a SIP
//! URI and a participant identity logged in a message, in fields (as text and as a
//! number) and in a span's call id reach no output; their pseudonyms do, the same for
//! the same caller.

mod support;

use mon_core::Privacy;
use mon_core::privacy::PrivacyConfig;
use mon_logging::{Format, LogHandle, LoggingConfig};
use std::sync::Arc;
use support::{Buffer, with_logs};

const PHONE: &str = "+15105550100";

#[test]
fn personal_data_in_records_is_pseudonymised_before_any_output() {
    let privacy = Privacy::new(&PrivacyConfig::default(), b"a key of at least 16 bytes").unwrap();
    let buffer = Buffer::default();
    let handle = LogHandle::with_privacy(
        &LoggingConfig::default(),
        Format::Json,
        Some(buffer.writer()),
        &|_| None,
        Arc::new(chrono::Utc::now),
        privacy.clone(),
    )
    .unwrap();
    with_logs(&handle, "info", || {
        let span =
            tracing::error_span!(target: "mon::context", "call", call_id = "call-+15105550100");
        let _guard = span.enter();
        tracing::info!(
            caller = PHONE,
            phone_number = 15105550100u64,
            participant_identity = "sip_caller_7",
            room = "support",
            "call from {PHONE} (jane.doe@example.com, <sip:+15105550100@pbx.example.com>) answered"
        );
    });
    let text = buffer.text();
    for planted in [
        "5105550100",
        "jane.doe@example.com",
        "sip_caller_7",
        "pbx.example.com",
    ] {
        assert!(!text.contains(planted), "{planted} in {text}");
    }
    let line = &buffer.json_lines()[0];
    let token = privacy.token(PHONE);
    assert_eq!(line["fields"]["caller"], token.as_str(), "{line}");
    assert_eq!(
        line["fields"]["participant_identity"],
        privacy.token("sip_caller_7").as_str(),
        "{line}"
    );
    assert_eq!(
        line["fields"]["phone_number"],
        privacy.token("15105550100").as_str(),
        "{line}"
    );
    assert_eq!(line["fields"]["room"], "support", "{line}");
    assert_eq!(line["call_id"], format!("call-{token}"), "{line}");
    let message = line["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("call from {token} (anon:")),
        "{message}"
    );
}
