//! The independent reference of mon's statistics: `tests/python/stats_check.py`, which
//! computes every figure with scipy and numpy only.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the reference script on `input` (`{"rates": [...], "samples": [...]}`, see the
/// script's doc) and returns what it printed, with a clear message when python3, scipy
/// or numpy is missing.
pub fn scipy_reference(input: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/stats_check.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (with scipy and numpy: pip install scipy numpy)");
    let mut stdin = child.stdin.take().expect("the script's stdin");
    let body = serde_json::to_vec(input).expect("the data sets as JSON");
    // Written from a thread: the script may answer before it has read everything.
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().expect("the script finishes");
    writer
        .join()
        .expect("the writer thread")
        .expect("the data sets reach the script");
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// Whether `got` is within `relative` of `want` (absolutely, near zero).
pub fn close(got: f64, want: f64, relative: f64) -> bool {
    (got - want).abs() <= relative * want.abs().max(1e-12)
}
