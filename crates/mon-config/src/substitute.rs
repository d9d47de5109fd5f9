//! `${VAR}` and `${VAR:-default}` substitution in the configuration text (`$${` writes a literal `${`).

use crate::error::ConfigError;

/// Replaces every `${VAR}` / `${VAR:-default}` in `text`.
///
/// Returns every missing variable and malformed reference at once, with its line:column.
/// Substitution happens on the text before YAML parsing, so a value such as a
/// password may contain any character; values are inserted verbatim. Comments
/// (`#` at the start of a line or after a blank, outside quotes) are left alone.
pub(crate) fn substitute(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<ConfigError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let code_len = comment_start(line).unwrap_or(line.len());
        substitute_span(
            text,
            line_start,
            code_len,
            source,
            env,
            &mut out,
            &mut errors,
        );
        out.push_str(&line[code_len..]);
        line_start += line.len();
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Where a YAML comment starts in `line`, if it has one.
fn comment_start(line: &str) -> Option<usize> {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

/// Substitutes `text[start..start + len]` into `out`, collecting errors.
fn substitute_span(
    text: &str,
    start: usize,
    len: usize,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
    errors: &mut Vec<ConfigError>,
) {
    let mut rest = &text[start..start + len];
    let mut offset = start;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
            offset += i + 3;
            continue;
        }
        if !after.starts_with('{') {
            out.push('$');
            rest = after;
            offset += i + 1;
            continue;
        }
        let at = position(text, offset + i);
        let Some(end) = after.find('}') else {
            errors.push(error(
                source,
                at,
                "unterminated `${`: expected `}`".to_string(),
            ));
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let inner = &after[1..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        let valid_name = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid_name {
            errors.push(error(
                source,
                at,
                format!(
                    "invalid variable reference `${{{inner}}}`: a name is letters, digits and `_`"
                ),
            ));
        } else {
            match (env(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => errors.push(error(
                    source,
                    at,
                    format!(
                        "environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                    ),
                )),
            }
        }
        rest = &after[end + 1..];
        offset += i + 1 + end + 1;
    }
    out.push_str(rest);
}

fn error(source: &str, position: (usize, usize), message: String) -> ConfigError {
    ConfigError {
        source: source.to_string(),
        position: Some(position),
        path: None,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr$t{x}".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn check(input: &str, expected: Result<&str, &str>) {
        match (substitute(input, "f.yaml", &env), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(errs), Err(want)) => {
                let text = errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                assert_eq!(text, want, "{input}");
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn substitutes() {
        check("a: ${TOKEN}", Ok("a: s3cr$t{x}"));
        check("a: ${EMPTY:-d}", Ok("a: "));
        check("a: ${MISSING:-fallback value}", Ok("a: fallback value"));
        check("a: ${MISSING:-}", Ok("a: "));
        check("price: $5 and $${NOT}", Ok("price: $5 and ${NOT}"));
        check("no vars", Ok("no vars"));
        check(
            "# ${MISSING} in a comment\na: 1 # ${ALSO}\nb: \"x # ${TOKEN}\"",
            Ok("# ${MISSING} in a comment\na: 1 # ${ALSO}\nb: \"x # s3cr$t{x}\""),
        );
    }

    #[test]
    fn reports_every_problem_with_position() {
        check(
            "a: 1\nb: ${MISSING}\nc: x ${ALSO_MISSING}",
            Err(
                "f.yaml:2:4: environment variable `MISSING` is not set (write `${MISSING:-default}` to give a default)\n\
                 f.yaml:3:6: environment variable `ALSO_MISSING` is not set (write `${ALSO_MISSING:-default}` to give a default)",
            ),
        );
        check(
            "a: ${bad name}",
            Err(
                "f.yaml:1:4: invalid variable reference `${bad name}`: a name is letters, digits and `_`",
            ),
        );
        check(
            "a: ${OPEN",
            Err("f.yaml:1:4: unterminated `${`: expected `}`"),
        );
    }
}
