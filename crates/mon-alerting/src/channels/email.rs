//! The `email` channel: SMTP with lettre over rustls — STARTTLS (port 587),
//! implicit TLS (465) or plain (25, local relays only) — with AUTH, and a
//! multipart message holding a text and an HTML part. The notification's
//! idempotency key is the Message-ID, so receiving systems can drop duplicates.

use super::{ChannelKind, Links};
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mon_core::{ChannelSpec, Notification, Notifier, NotifyError, Secret, escape_markup};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// `type: email`.
///
/// ```yaml
/// - name: ops_mail
///   type: email
///   host: smtp.example.com
///   port: 587
///   tls: starttls
///   username: alerts@example.com
///   password: ${SMTP_PASSWORD}
///   from: "mon <alerts@example.com>"
///   to: [oncall@example.com]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannelConfig {
    /// The SMTP server.
    pub host: String,
    /// Its port (default: 587 for starttls, 465 for tls, 25 for none).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit, "SMTPS") or `none` (plain text).
    #[serde(default)]
    pub tls: EmailTls,
    /// A PEM file with the CA that signed the server's certificate, for private
    /// CAs; absent: the usual web roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Login for AUTH; absent: no AUTH.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for AUTH.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender, e.g. `mon <alerts@example.com>`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption (a local relay only: the password would travel in clear).
    None,
}

/// Addresses parsed, CA file read, transport configured; messages link to mon under `links`.
impl ChannelKind for EmailChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        let invalid = |message: String| message;
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| invalid(format!("from {:?} is not an address: {e}", self.from)))?;
        if self.to.is_empty() {
            return Err(invalid(
                "to is empty; list at least one recipient".to_string(),
            ));
        }
        let to = self
            .to
            .iter()
            .map(|t| {
                t.parse::<Mailbox>()
                    .map_err(|e| invalid(format!("to {t:?} is not an address: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(self.host.clone());
            if let Some(path) = &self.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| invalid(format!("ca_file {}: {e}", path.display())))?;
                let certificate = Certificate::from_pem(&pem)
                    .map_err(|e| invalid(format!("ca_file {}: {e}", path.display())))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|e| invalid(format!("TLS setup failed: {e}")))
        };
        let (tls, port) = match self.tls {
            EmailTls::Starttls => (Tls::Required(tls_parameters()?), 587),
            EmailTls::Tls => (Tls::Wrapper(tls_parameters()?), 465),
            EmailTls::None => (Tls::None, 25),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port.unwrap_or(port))
            .tls(tls)
            .timeout(Some(spec.timeout));
        match (&self.username, &self.password) {
            (Some(user), Some(password)) => {
                transport = transport.credentials(Credentials::new(
                    user.clone(),
                    password.expose().to_string(),
                ));
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "give both username and password, or neither".to_string(),
                ));
            }
        }
        Ok(Arc::new(EmailNotifier {
            name: spec.name.to_string(),
            links: links.clone(),
            from,
            to,
            transport: transport.build(),
        }))
    }
}

/// Mails notifications.
#[derive(Clone)]
pub struct EmailNotifier {
    name: String,
    links: Links,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("name", &self.name)
            .finish()
    }
}

/// Subject, text body and HTML body of a notification, linking to mon under `links`; a
/// notification carrying its own message (a report) is that message.
pub fn render(notification: &Notification, links: &Links) -> (String, String, String) {
    if let Some(message) = &notification.message {
        return (
            message.subject.clone(),
            message.text.clone(),
            message.html.clone(),
        );
    }
    let transition = notification.transition.as_str().to_uppercase();
    let subject = match notification.alerts.as_slice() {
        [one] => format!("[{transition}] {} ({})", one.rule, one.severity),
        many => format!("[{transition}] {} alerts", many.len()),
    };
    let mut text = String::new();
    let mut html = String::from("<html><body style=\"font-family:sans-serif\">");
    for alert in &notification.alerts {
        text.push_str(&format!(
            "{} — {} ({})\n",
            alert.rule, alert.state, alert.severity
        ));
        html.push_str(&format!(
            "<h2>{}</h2><p><b>{}</b> · {}</p><table>",
            escape_markup(&alert.rule),
            escape_markup(alert.state.as_str()),
            escape_markup(alert.severity.as_str())
        ));
        let mut rows: Vec<(String, String)> = alert
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(value) = alert.value {
            rows.push(("value".to_string(), value.to_string()));
        }
        rows.push(("started".to_string(), alert.started_at.to_rfc3339()));
        for (k, v) in alert.labels.iter() {
            rows.push((format!("label {k}"), v.clone()));
        }
        for (k, v) in rows {
            text.push_str(&format!("  {k}: {v}\n"));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_markup(&k),
                escape_markup(&v)
            ));
        }
        text.push('\n');
        html.push_str("</table>");
    }
    let url = links.alerts();
    text.push_str(&format!("Alerts in mon: {url}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">Alerts in mon</a></p></body></html>",
        escape_markup(&url)
    ));
    (subject, text, html)
}

#[async_trait]
impl Notifier for EmailNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let (subject, text, html) = render(notification, &self.links);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!(
                "<{}@mon>",
                notification.idempotency_key.replace(':', ".")
            )));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| NotifyError::config(format!("the message could not be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(NotifyError::rejected(format!("SMTP refused: {e}"))),
            Err(e) => Err(NotifyError::transient(format!("SMTP: {e}"))),
        }
    }
}
