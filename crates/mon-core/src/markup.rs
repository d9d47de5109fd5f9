//! [`escape_markup`]: the one escaping of text written into HTML or SVG (mails, the status
//! page, badges, report charts), for element content and quoted attribute values alike.

/// `text` safe inside HTML or XML content and quoted attributes: `&`, `<`, `>`, `"` and
/// `'` as entities, and control characters other than tab and line breaks (which XML does
/// not allow) as spaces.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_markup;

    #[test]
    fn markup_characters_become_entities_and_controls_spaces() {
        for (input, want) in [
            ("plain", "plain"),
            ("a & b", "a &amp; b"),
            ("<script>", "&lt;script&gt;"),
            ("say \"hi\" it's", "say &quot;hi&quot; it&#39;s"),
            (
                "tab\tline\nnul\u{0}bell\u{7}c1\u{94}",
                "tab\tline\nnul bell c1 ",
            ),
            ("ünïcødé 语音", "ünïcødé 语音"),
        ] {
            assert_eq!(escape_markup(input), want, "{input:?}");
        }
    }
}
