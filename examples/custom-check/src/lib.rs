//! An example check kind in its own crate, depending on `mon-core` only (and tokio for
//! its socket): `sip_options` sends a SIP `OPTIONS` request over UDP to a SIP trunk
//! or proxy and expects a `SIP/2.0` answer to it, the usual keep-alive probe of SIP.
//!
//! - a 2xx answer is healthy, a 4xx (some trunks refuse `OPTIONS` but answer it) is
//!   degraded, a 5xx or 6xx is unhealthy, and no answer within the check's timeout is
//!   unhealthy;
//! - provisional answers (1xx) and datagrams that are not the answer (another
//!   `Call-ID`) are skipped.
//!
//! This is the whole contract a check kind needs: implement [`mon_core::HealthCheck`]
//! (a failed probe is a [`CheckOutcome`], never an error) and give mon a
//! [`CheckFactory`] that reads the entry's own fields:
//!
//! ```yaml
//! checks:
//!   - name: trunk
//!     type: sip_options
//!     address: sip.example.net:5060
//!     timeout: 2s
//! ```

use mon_core::{CheckFactory, CheckOutcome, HealthCheck, KindError, Status, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;

/// The kind's name, as written after `type:`.
pub const KIND: &str = "sip_options";

/// The fields of a `sip_options` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipOptionsConfig {
    /// `host:port` of the SIP server (UDP), e.g. `sip.example.net:5060`.
    pub address: String,
}

/// The factory to register under [`KIND`]: validates the fields and builds the check.
pub fn factory() -> CheckFactory {
    Arc::new(|spec| {
        let config: SipOptionsConfig = spec.parse()?;
        let port = config
            .address
            .rsplit_once(':')
            .and_then(|(host, port)| (!host.is_empty()).then_some(port))
            .and_then(|port| port.parse::<u16>().ok())
            .filter(|port| *port != 0);
        if port.is_none() {
            return Err(KindError::field(
                "address",
                format!(
                    "{:?} is not host:port; write it like sip.example.net:5060",
                    config.address
                ),
            ));
        }
        Ok(Arc::new(SipOptionsCheck {
            address: config.address,
            timeout: spec.timeout,
        }))
    })
}

/// A built `sip_options` check.
#[derive(Debug)]
pub struct SipOptionsCheck {
    address: String,
    timeout: Duration,
}

/// What one probe saw.
enum Probe {
    /// A final answer: its status code and reason phrase.
    Answer(u16, String),
    /// The probe could not be sent or received.
    Failed(String),
}

#[async_trait]
impl HealthCheck for SipOptionsCheck {
    fn kind(&self) -> &str {
        KIND
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let probe = match tokio::time::timeout(self.timeout, self.probe()).await {
            Ok(probe) => probe,
            Err(_) => Probe::Failed(format!(
                "no SIP answer from {} within {} ms",
                self.address,
                self.timeout.as_millis()
            )),
        };
        let latency = started.elapsed();
        match probe {
            Probe::Answer(code, reason) => {
                let message = format!("{} answered OPTIONS with {code} {reason}", self.address);
                let details =
                    json!({"address": self.address, "status_code": code, "reason": reason});
                let outcome = match code {
                    200..=299 => CheckOutcome::healthy(latency, message),
                    400..=499 => CheckOutcome::new(Status::Degraded, latency, message),
                    _ => CheckOutcome::unhealthy(latency, message),
                };
                outcome.with_details(details)
            }
            Probe::Failed(message) => CheckOutcome::unhealthy(latency, message)
                .with_details(json!({"address": self.address})),
        }
    }
}

impl SipOptionsCheck {
    /// Sends one `OPTIONS` and waits for its final answer (the caller bounds the wait).
    async fn probe(&self) -> Probe {
        let target = match tokio::net::lookup_host(&self.address).await {
            Ok(mut addrs) => match addrs.next() {
                Some(addr) => addr,
                None => return Probe::Failed(format!("{} resolves to no address", self.address)),
            },
            Err(e) => return Probe::Failed(format!("cannot resolve {}: {e}", self.address)),
        };
        let bind = if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = match UdpSocket::bind(bind).await {
            Ok(socket) => socket,
            Err(e) => return Probe::Failed(format!("cannot open a UDP socket: {e}")),
        };
        if let Err(e) = socket.connect(target).await {
            return Probe::Failed(format!("cannot reach {target}: {e}"));
        }
        let local = match socket.local_addr() {
            Ok(local) => local,
            Err(e) => return Probe::Failed(format!("cannot read the local address: {e}")),
        };
        let call_id = format!("{}@mon", unique());
        let request = options_request(&self.address, &local.to_string(), &call_id);
        if let Err(e) = socket.send(request.as_bytes()).await {
            return Probe::Failed(format!("cannot send to {target}: {e}"));
        }
        let mut buffer = vec![0u8; 65_535];
        loop {
            let received = match socket.recv(&mut buffer).await {
                Ok(n) => n,
                // An ICMP "port unreachable" comes back as an error on the connected socket.
                Err(e) => return Probe::Failed(format!("no SIP answer from {target}: {e}")),
            };
            let text = String::from_utf8_lossy(&buffer[..received]);
            match parse_answer(&text, &call_id) {
                Some((code, _)) if code < 200 => continue,
                Some((code, reason)) => return Probe::Answer(code, reason),
                None => continue,
            }
        }
    }
}

/// A number that differs between probes, for the branch, tag and Call-ID.
fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The `OPTIONS` request to `address`, sent from `local`.
fn options_request(address: &str, local: &str, call_id: &str) -> String {
    let id = unique();
    format!(
        "OPTIONS sip:{address} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:mon@{local}>;tag={id}\r\n\
         To: <sip:{address}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:mon@{local}>\r\n\
         Accept: application/sdp\r\n\
         User-Agent: mon\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// The status code and reason of `text` when it is a SIP answer for `call_id`.
fn parse_answer(text: &str, call_id: &str) -> Option<(u16, String)> {
    let mut lines = text.split("\r\n");
    let status = lines.next()?.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = status.split_once(' ').unwrap_or((status, ""));
    let code: u16 = code.parse().ok().filter(|c| (100..700).contains(c))?;
    let ours = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .any(|(name, value)| {
            let name = name.trim();
            (name.eq_ignore_ascii_case("Call-ID") || name == "i") && value.trim() == call_id
        });
    ours.then(|| (code, reason.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::{KindSpec, Kinds};

    /// A tiny SIP responder on loopback: answers every request with `status`,
    /// echoing its Via, From, To, Call-ID and CSeq, after a provisional 100 and a
    /// stray datagram of another call.
    async fn responder(status: &'static str) -> String {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 65_535];
            while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
                let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                let echoed: String = request
                    .split("\r\n")
                    .filter(|l| {
                        ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                            .iter()
                            .any(|h| l.starts_with(h))
                    })
                    .map(|l| format!("{l}\r\n"))
                    .collect();
                for answer in [
                    "SIP/2.0 200 OK\r\nCall-ID: someone-else@x\r\n\r\n".to_string(),
                    format!("SIP/2.0 100 Trying\r\n{echoed}Content-Length: 0\r\n\r\n"),
                    format!("SIP/2.0 {status}\r\n{echoed}Content-Length: 0\r\n\r\n"),
                ] {
                    let _ = socket.send_to(answer.as_bytes(), from).await;
                }
            }
        });
        address
    }

    fn build(
        fields: serde_json::Value,
        timeout: Duration,
    ) -> Result<Arc<dyn HealthCheck>, KindError> {
        let mut kinds = Kinds::new();
        kinds.check_kind_of::<SipOptionsConfig>(KIND, factory());
        kinds.build_check(&KindSpec::new(KIND, fields), "trunk", timeout)
    }

    #[tokio::test]
    async fn the_answer_decides_the_status() {
        for (answer, want) in [
            ("200 OK", Status::Healthy),
            ("405 Method Not Allowed", Status::Degraded),
            ("503 Service Unavailable", Status::Unhealthy),
        ] {
            let address = responder(answer).await;
            let check = build(json!({"address": address}), Duration::from_secs(5)).unwrap();
            let outcome = check.check().await;
            assert_eq!(outcome.status, want, "{answer}: {outcome:?}");
            let code: u16 = answer[..3].parse().unwrap();
            assert_eq!(outcome.details["status_code"], code, "{outcome:?}");
            assert!(outcome.message.contains(answer), "{}", outcome.message);
        }
    }

    #[tokio::test]
    async fn silence_is_unhealthy() {
        // A socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = silent.local_addr().unwrap().to_string();
        let check = build(json!({"address": address}), Duration::from_millis(300)).unwrap();
        let outcome = check.check().await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains("no SIP answer"),
            "{}",
            outcome.message
        );
    }

    #[test]
    fn field_errors_name_the_field() {
        for (fields, path) in [
            (json!({"address": "no-port"}), Some("address")),
            (json!({"address": "x:0"}), Some("address")),
            (
                json!({"address": "x:5060", "transport": "tcp"}),
                Some("transport"),
            ),
            (json!({}), None),
        ] {
            let err = build(fields.clone(), Duration::from_secs(1)).err().unwrap();
            assert_eq!(err.path.as_deref(), path, "{fields}: {err}");
        }
    }

    #[test]
    fn only_the_answer_to_our_call_counts() {
        let ours = "SIP/2.0 200 OK\r\nCall-ID: abc@mon\r\n\r\n";
        assert_eq!(parse_answer(ours, "abc@mon"), Some((200, "OK".into())));
        assert_eq!(parse_answer(ours, "other@mon"), None);
        assert_eq!(parse_answer("HTTP/1.1 200 OK\r\n\r\n", "abc@mon"), None);
        assert_eq!(
            parse_answer("SIP/2.0 999 Huh\r\ni: abc@mon\r\n\r\n", "abc@mon"),
            None
        );
        assert_eq!(
            parse_answer("SIP/2.0 486 Busy Here\r\ni: abc@mon\r\n\r\n", "abc@mon"),
            Some((486, "Busy Here".into()))
        );
    }
}
