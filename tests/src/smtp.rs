//! A real SMTP server for the e-mail tests: aiosmtpd (`pip install aiosmtpd`, see
//! .ci/run) running `python/smtp_server.py` with a fresh self-signed certificate,
//! STARTTLS and AUTH (user `mon`, password `pa55`) required. Each message it accepts is
//! one JSON line of `received.jsonl` in the given directory: envelope, subject,
//! Message-ID, the text and HTML parts as parsed by Python's `email` package.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The SMTP server process; killed when dropped.
#[derive(Debug)]
pub struct Smtp {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The PEM certificate it presents (give it as the channel's `ca_file`).
    pub cert: PathBuf,
    received: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    /// Starts the server on a free port, its certificate and mailbox under `dir`.
    pub fn start(dir: &Path) -> Smtp {
        let port = crate::free_port();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("a certificate");
        let cert = dir.join("smtp-cert.pem");
        let key = dir.join("smtp-key.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("certificate written");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key written");
        let received = dir.join("received.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/smtp_server.py");
        let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(script)
            .arg(port.to_string())
            .arg(&cert)
            .arg(&key)
            .arg(&received)
            .args(["mon", "pa55"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs (the aiosmtpd test server)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the SMTP server's first line");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP server did not start: is aiosmtpd installed (pip install aiosmtpd)?"
        );
        Smtp {
            child,
            port,
            cert,
            received,
        }
    }

    /// The messages received so far, oldest first.
    pub fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.received)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}
