//! `type: command`: runs a program (no shell) with a timeout; healthy on exit status 0.

use super::{BuildContext, KindConfig};
use crate::HealthError;
use crate::checks::common::format_latency;
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of a `command` check.
///
/// ```yaml
/// - name: backup-fresh
///   type: command
///   command: /usr/local/bin/check-backup
///   args: ["--max-age", "26h"]
///   stdout_contains: OK
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCheckConfig {
    /// The program to run: an absolute path, or a name looked up in `PATH`.
    /// It runs directly, not through a shell.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Text the standard output must contain for the check to be healthy (default: not checked).
    #[serde(default)]
    pub stdout_contains: Option<String>,
}

impl KindConfig for CommandCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        if self.command.trim().is_empty() || self.command.contains('\0') {
            return Err(HealthError::invalid(
                check,
                "command",
                "must name a program, such as /usr/local/bin/check-backup",
            ));
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        Ok(Arc::new(CommandCheck {
            config: self.clone(),
            timeout: ctx.timeout,
        }))
    }
}

/// A built `command` check.
struct CommandCheck {
    config: CommandCheckConfig,
    timeout: Duration,
}

/// How much of each output stream is kept.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// The last non-empty line of `bytes`, shortened, for messages.
fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    Some(line.chars().take(200).collect())
}

#[async_trait]
impl HealthCheck for CommandCheck {
    fn kind(&self) -> &str {
        "command"
    }

    async fn check(&self) -> CheckOutcome {
        let command = &self.config.command;
        let started = Instant::now();
        let child = tokio::process::Command::new(command)
            .args(&self.config.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out or cancelled run must not leave the process behind.
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                return CheckOutcome::unhealthy(
                    started.elapsed(),
                    format!("cannot run {command}: {e}"),
                )
                .with_details(json!({"command": command, "error": "spawn"}));
            }
        };
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return CheckOutcome::unhealthy(
                    started.elapsed(),
                    format!("waiting for {command} failed: {e}"),
                )
                .with_details(json!({"command": command, "error": "wait"}));
            }
            Err(_) => {
                return CheckOutcome::unhealthy(
                    started.elapsed(),
                    format!(
                        "{command} did not finish within {}; it was killed",
                        mon_core::duration::format(self.timeout)
                    ),
                )
                .with_details(json!({"command": command, "error": "timeout"}));
            }
        };
        let latency = started.elapsed();
        let stdout = &output.stdout[..output.stdout.len().min(OUTPUT_LIMIT)];
        let stderr = &output.stderr[..output.stderr.len().min(OUTPUT_LIMIT)];
        let details = json!({
            "command": command,
            "exit_code": output.status.code(),
            "stdout": last_line(stdout),
            "stderr": last_line(stderr),
        });
        if !output.status.success() {
            let why = last_line(stderr)
                .or_else(|| last_line(stdout))
                .map_or_else(String::new, |l| format!(": {l}"));
            let status = match output.status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_owned(),
            };
            return CheckOutcome::unhealthy(latency, format!("{command} {status}{why}"))
                .with_details(details);
        }
        if let Some(want) = &self.config.stdout_contains
            && !String::from_utf8_lossy(stdout).contains(want.as_str())
        {
            return CheckOutcome::unhealthy(
                latency,
                format!("{command} succeeded but its output does not contain {want:?}"),
            )
            .with_details(details);
        }
        CheckOutcome::healthy(
            latency,
            format!("{command} succeeded in {}", format_latency(latency)),
        )
        .with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use mon_core::Status;

    async fn run(
        command: &str,
        args: &[&str],
        contains: Option<&str>,
        timeout: Duration,
    ) -> CheckOutcome {
        let mut config = CheckConfig::new(
            "cmd",
            kind(
                "command",
                &CommandCheckConfig {
                    command: command.into(),
                    args: args.iter().map(|a| (*a).to_owned()).collect(),
                    stdout_contains: contains.map(str::to_owned),
                },
            ),
        );
        config.timeout = timeout;
        config.build(&check_kinds()).unwrap().check().await
    }

    #[tokio::test]
    async fn exit_status_and_output_decide() {
        let second = Duration::from_secs(10);
        // (command, args, stdout_contains, status, text in the message)
        type Case<'a> = (&'a str, &'a [&'a str], Option<&'a str>, Status, &'a str);
        let cases: [Case<'_>; 6] = [
            ("true", &[], None, Status::Healthy, "true succeeded"),
            (
                "sh",
                &["-c", "echo disk full >&2; exit 3"],
                None,
                Status::Unhealthy,
                "exited with status 3: disk full",
            ),
            (
                "echo",
                &["backup OK"],
                Some("OK"),
                Status::Healthy,
                "succeeded",
            ),
            (
                "echo",
                &["backup stale"],
                Some("OK"),
                Status::Unhealthy,
                "does not contain \"OK\"",
            ),
            (
                "/nonexistent/mon-probe",
                &[],
                None,
                Status::Unhealthy,
                "cannot run /nonexistent/mon-probe",
            ),
            (
                "sh",
                &["-c", "kill -9 $$"],
                None,
                Status::Unhealthy,
                "killed by a signal",
            ),
        ];
        for (command, args, contains, want, text) in cases {
            let outcome = run(command, args, contains, second).await;
            assert_eq!(outcome.status, want, "{command} {args:?}: {outcome:?}");
            assert!(
                outcome.message.contains(text),
                "{command} {args:?}: {}",
                outcome.message
            );
        }
    }

    #[tokio::test]
    async fn a_slow_command_is_killed_at_the_timeout() {
        let outcome = run("sleep", &["30"], None, Duration::from_millis(200)).await;
        assert_eq!(outcome.status, Status::Unhealthy);
        assert_eq!(outcome.details["error"], "timeout");
        assert!(
            outcome.message.contains("within 200ms"),
            "{}",
            outcome.message
        );
    }
}
