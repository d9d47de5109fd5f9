//! `${VAR}` and `${VAR:-default}` substitution in the configuration text (`$${` writes a literal `${`).

use crate::error::ConfigError;

/// Configuration text after substitution, with the values that came from the environment.
#[derive(Debug, Default)]
pub(crate) struct Substituted {
    /// The text to parse.
    pub(crate) text: String,
    /// Every non-empty value a `${VAR}` took from the environment (secrets, as far as
    /// any output is concerned).
    pub(crate) values: Vec<String>,
}

/// Replaces every `${VAR}` / `${VAR:-default}` in `text`.
///
/// Returns every missing variable and malformed reference at once, with its line:column.
/// A value is data, never YAML: inside quotes it is escaped for that quoting; in a plain
/// scalar it is inserted as is when YAML would read it back unchanged (`8080`, `true`,
/// `db.internal`), otherwise the whole scalar is written double-quoted (a password
/// with ` #`, `: `, quotes or a leading indicator). Comments (`#` at the start of a line
/// or after a blank, outside quotes) are left alone.
pub(crate) fn substitute(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Substituted, Vec<ConfigError>> {
    let mut line_out = LineOut::default();
    let mut out = Substituted::default();
    let mut errors = Vec::new();
    let mut line_start = 0;
    // The indentation of the key that opened a block scalar (`key: |`), while in one.
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if block.is_some_and(|b| indent <= b && !line.trim().is_empty()) {
            block = None;
        }
        let code_len = if block.is_some() {
            line.trim_end_matches(['\n', '\r']).len()
        } else {
            comment_start(line).unwrap_or(line.trim_end_matches(['\n', '\r']).len())
        };
        line_out.run(
            text,
            line_start,
            code_len,
            block.is_some(),
            &mut |name, default| match (env(name), default) {
                (Some(value), _) => {
                    if !value.is_empty() {
                        out.values.push(value.clone());
                    }
                    Ok(value)
                }
                (None, Some(default)) => Ok(default.to_string()),
                (None, None) => Err(format!(
                    "environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                )),
            },
        );
        errors.extend(
            line_out
                .errors
                .drain(..)
                .map(|(at, message)| error(source, at, message)),
        );
        out.text.push_str(&line_out.out);
        out.text.push_str(&line[code_len..]);
        let code = line[..code_len].trim_end();
        if block.is_none()
            && ["|", "|-", "|+", ">", ">-", ">+"]
                .iter()
                .any(|b| code.ends_with(&format!(" {b}")))
        {
            block = Some(indent);
        }
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

/// Looks a variable up: `(name, default)` → its value, or why there is none.
type Resolve<'a> = dyn FnMut(&str, Option<&str>) -> Result<String, String> + 'a;

/// The substitution of one line's code part, scalar by scalar.
#[derive(Default)]
struct LineOut {
    out: String,
    /// Inside `'…'` / `"…"`.
    single: bool,
    double: bool,
    /// Open `[` / `{` on this line.
    flow: usize,
    /// Where the current plain scalar starts in `out`, and whether it must be quoted.
    plain: Option<(usize, bool)>,
    /// Problems found, with their line:column.
    errors: Vec<((usize, usize), String)>,
}

impl LineOut {
    fn run(
        &mut self,
        text: &str,
        start: usize,
        len: usize,
        literal: bool,
        resolve: &mut Resolve<'_>,
    ) {
        self.out.clear();
        (self.single, self.double, self.flow, self.plain) = (false, false, 0, None);
        let code = &text[start..start + len];
        let mut chars = code.char_indices().peekable();
        let mut prev = ' ';
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            if c == '$' && code[i..].starts_with("$${") {
                self.literal_char(c, prev, next, literal);
                chars.next();
                prev = '$';
                continue;
            }
            if c == '$' && code[i..].starts_with("${") {
                let at = position(text, start + i);
                let after = &code[i + 2..];
                let Some(end) = after.find('}') else {
                    self.errors
                        .push((at, "unterminated `${`: expected `}`".to_string()));
                    self.out.push_str(&code[i..]);
                    break;
                };
                let inner = &after[..end];
                let (name, default) = match inner.split_once(":-") {
                    Some((name, default)) => (name, Some(default)),
                    None => (inner, None),
                };
                let valid_name = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid_name {
                    self.errors.push((
                        at,
                        format!(
                            "invalid variable reference `${{{inner}}}`: a name is letters, digits and `_`"
                        ),
                    ));
                } else {
                    match resolve(name, default) {
                        Ok(value) => self.value(&value, literal),
                        Err(message) => self.errors.push((at, message)),
                    }
                }
                // Skip past the closing brace.
                let stop = i + 2 + end;
                while chars.next_if(|&(j, _)| j <= stop).is_some() {}
                prev = '}';
                continue;
            }
            self.literal_char(c, prev, next, literal);
            prev = c;
        }
        self.close_plain();
    }

    /// Writes a character of the file itself, following the quoting and scalars.
    fn literal_char(&mut self, c: char, prev: char, next: Option<char>, literal: bool) {
        if literal {
            self.out.push(c);
            return;
        }
        if self.single || self.double {
            match c {
                '\'' if self.single => self.single = false,
                '"' if self.double && prev != '\\' => self.double = false,
                _ => {}
            }
            self.out.push(c);
            return;
        }
        let ends_plain = match c {
            ':' => next.is_none_or(char::is_whitespace) || (self.flow > 0 && next == Some(',')),
            ',' | '[' | ']' | '{' | '}' => self.flow > 0 || self.plain.is_none(),
            _ => false,
        };
        if self.plain.is_some() && !ends_plain {
            self.out.push(c);
            return;
        }
        if ends_plain {
            self.close_plain();
        }
        match c {
            '[' | '{' => self.flow += 1,
            ']' | '}' => self.flow = self.flow.saturating_sub(1),
            '\'' => self.single = true,
            '"' => self.double = true,
            '-' | '?' | ':' if next.is_none_or(char::is_whitespace) => {}
            ',' => {}
            c if c.is_whitespace() => {}
            _ => self.plain = Some((self.out.len(), false)),
        }
        self.out.push(c);
    }

    /// Writes a substituted value so that YAML reads it back as exactly this text.
    fn value(&mut self, value: &str, literal: bool) {
        if literal {
            self.out.push_str(value);
        } else if self.double {
            self.out.push_str(&escape_double(value));
        } else if self.single {
            self.out.push_str(&value.replace('\'', "''"));
        } else {
            let plain_safe = !value.starts_with([':', '@', '%', ' '])
                && !value.ends_with([':', ' '])
                && !value.contains(": ")
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~+/=:@%() ".contains(c));
            self.plain = Some(match self.plain {
                Some((start, quote)) => (start, quote || !plain_safe),
                None => (self.out.len(), !plain_safe),
            });
            self.out.push_str(value);
        }
    }

    /// Ends the current plain scalar, double-quoting it when a value needs that.
    fn close_plain(&mut self) {
        if let Some((start, true)) = self.plain {
            let scalar = self.out[start..].trim_end().to_string();
            let trailing = self.out[start + scalar.len()..].to_string();
            self.out.truncate(start);
            self.out.push('"');
            self.out.push_str(&escape_double(&scalar));
            self.out.push('"');
            self.out.push_str(&trailing);
        }
        self.plain = None;
    }
}

/// `value` escaped for a YAML double-quoted scalar.
fn escape_double(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn error(source: &str, position: (usize, usize), message: String) -> ConfigError {
    ConfigError {
        source: source.to_string(),
        position: Some(position),
        path: None,
        message,
        unknown_kind: None,
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
            "HASH" => Some("Zq9 #rest".to_string()),
            "QUOTES" => Some("a'b\"c\\d: e".to_string()),
            "PORT" => Some("8080".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn check(input: &str, expected: Result<&str, &str>) {
        match (substitute(input, "f.yaml", &env), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got.text, want, "{input}"),
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
        check("a: ${TOKEN}", Ok("a: \"s3cr$t{x}\""));
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

    /// Every value reads back from YAML as exactly itself, in every place a scalar can be.
    #[test]
    fn values_are_data_not_yaml() {
        let vars = ["TOKEN", "HASH", "QUOTES"];
        let docs = [
            "a: ${V}\n",
            "a: pre-${V}-post\n",
            "a: \"${V}\"\n",
            "a: 'x ${V}'\n",
            "a: [${V}, b]\n",
            "a: { k: ${V}, b: 1 }\n",
            "a:\n  - ${V} # comment\n",
            "a: |\n  ${V}\nb: 1\n",
        ];
        for var in vars {
            let value = env(var).unwrap();
            for doc in docs {
                let input = doc.replace('V', var);
                let out = substitute(&input, "f.yaml", &env).unwrap();
                assert_eq!(out.values, std::slice::from_ref(&value));
                let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.text)
                    .unwrap_or_else(|e| panic!("{input} -> {}: {e}", out.text));
                let a = &parsed["a"];
                let got = a
                    .as_str()
                    .or_else(|| a[0].as_str())
                    .or_else(|| a["k"].as_str())
                    .unwrap_or_default();
                assert!(
                    got.contains(value.as_str()),
                    "{input} -> {} -> {got:?}",
                    out.text
                );
            }
        }
        // Plain values stay typed as YAML reads them.
        let out = substitute("port: ${PORT}\n", "f.yaml", &env).unwrap();
        assert_eq!(out.text, "port: 8080\n");
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
