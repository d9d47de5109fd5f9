//! Output helpers: aligned tables, status colours (only on a terminal), sparklines, JSON.

use serde_json::Value;
use std::io::{IsTerminal, Write};

/// `print!` for the CLI's standard output: see [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format!($($arg)*).as_bytes())
    };
}

/// `println!` for the CLI's standard output: see [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::output::write_stdout(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

/// `eprint!` for the CLI's standard error: see [`write_stderr`].
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::output::write_stderr(format!($($arg)*).as_bytes())
    };
}

/// `eprintln!` for the CLI's standard error: see [`write_stderr`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_stderr(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

/// Writes to standard error; when that is closed too there is no one left to tell, so
/// a failed write is dropped rather than a panic.
pub(crate) fn write_stderr(bytes: &[u8]) {
    let _ = std::io::stderr().lock().write_all(bytes);
}

/// Writes to standard output. A reader that went away (`mon ... | head -1`) ends the
/// process quietly with success, as for any Unix filter; another write failure (a full
/// disk) ends it with a message and exit 1. Never a panic, unlike `print!`.
pub(crate) fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        errln!("mon: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Whether stdout is a terminal (colour and progress are only for people).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Prints a value as pretty JSON (the stable, documented output of `--output json`).
pub(crate) fn print_json(value: &Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A status word, coloured on a terminal: green healthy, yellow degraded, red unhealthy.
pub(crate) fn status_word(status: &str, color: bool) -> String {
    let code = match status {
        "healthy" | "ok" | "resolved" => "32",
        "degraded" | "unknown" | "pending" | "warning" | "noisy" => "33",
        "unhealthy" | "firing" | "critical" | "error" => "31",
        _ => return status.to_string(),
    };
    if color {
        format!("\x1b[{code}m{status}\x1b[0m")
    } else {
        status.to_string()
    }
}

/// Visible width of a cell (ANSI colour codes take no space).
fn width(cell: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in cell.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// An aligned table; columns listed in `right` are right-aligned; trailing spaces trimmed.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(width(cell)));
            if i > 0 {
                line.push_str("  ");
            }
            if right.contains(&i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A one-line chart of values, oldest first: `▁▂▄█`.
pub(crate) fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(min), Some(max)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return String::new();
    };
    values
        .iter()
        .map(|v| {
            if !v.is_finite() {
                ' '
            } else if max <= min {
                BARS[0]
            } else {
                let i = ((v - min) / (max - min) * 7.0).round();
                BARS[(i as usize).min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_ignore_colour_codes() {
        let rows = vec![
            vec![
                "host".to_string(),
                status_word("healthy", true),
                "201 ms".to_string(),
            ],
            vec![
                "api-gateway".to_string(),
                status_word("unhealthy", false),
                "-".to_string(),
            ],
        ];
        let text = table(&["CHECK", "STATUS", "LATENCY"], &rows, &[2]);
        let plain: String = text.replace("\x1b[32m", "").replace("\x1b[0m", "");
        assert_eq!(
            plain,
            "CHECK        STATUS     LATENCY\nhost         healthy     201 ms\napi-gateway  unhealthy        -\n"
        );
    }

    #[test]
    fn sparklines_scale_to_the_range() {
        assert_eq!(sparkline(&[1.0, 5.0, 9.0]), "▁▅█");
        assert_eq!(sparkline(&[3.0, 3.0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[f64::NAN, 2.0, 4.0]), " ▁█");
    }
}
