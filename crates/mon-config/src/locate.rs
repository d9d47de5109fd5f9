//! Finds the line:column of a key path (`checks[2].timeout`) in YAML text, so that
//! errors found after parsing (validation, flattened fields) still point at the source;
//! and refuses text nested deeper than [`MAX_DEPTH`] before any recursive parser
//! (or this index, whose paths grow with depth) sees it.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions (1-based line, column) of every mapping key and list item, by path.
/// (yaml-rust2's marker column is 0-based.)
#[derive(Debug, Default)]
pub(crate) struct Positions {
    positions: HashMap<String, (usize, usize)>,
    /// The text of every scalar value, by its key path.
    scalars: HashMap<String, String>,
    /// The paths of every list and mapping value, with `"sequence"` / `"map"`.
    collections: HashMap<String, &'static str>,
}

impl Positions {
    /// Indexes `text`; an unparsable text gives an empty index (the YAML error is reported elsewhere).
    pub(crate) fn of(text: &str) -> Positions {
        let mut walker = Walker::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut walker, false).is_err() {
            return Positions::default();
        }
        Positions {
            positions: walker.positions,
            scalars: walker.scalars,
            collections: walker.collections,
        }
    }

    /// The direct child of `parent` that is a list (`kind` `"sequence"`) or mapping
    /// (`"map"`), when exactly one is: serde reports `invalid type: sequence` only at
    /// the parent.
    pub(crate) fn child_of_kind(&self, parent: &str, kind: &str) -> Option<String> {
        let prefix = format!("{parent}.");
        let mut matches = self.collections.iter().filter(|(path, k)| {
            **k == kind
                && path
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains(['.', '[']))
        });
        let (path, _) = matches.next()?;
        matches.next().is_none().then(|| path.clone())
    }

    /// The one indexed path that `path` names without its list indexes (serde leaves
    /// them out inside tagged entries: `alerting.channels.timout`), if exactly one.
    pub(crate) fn with_indexes(&self, path: &str) -> Option<String> {
        let strip = |p: &str| {
            let mut out = String::with_capacity(p.len());
            let mut depth = 0;
            for c in p.chars() {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ if depth == 0 => out.push(c),
                    _ => {}
                }
            }
            out
        };
        let mut matches = self
            .positions
            .keys()
            .filter(|p| p.as_str() != path && strip(p) == path);
        let found = matches.next()?;
        matches.next().is_none().then(|| found.clone())
    }

    /// The direct child of `parent` whose scalar value is one of the values quoted in
    /// `message` (serde quotes the offending value: `"5x"` or `` `30` ``), when exactly one is;
    /// failing that, the one such descendant at any depth (a section that serde reads as a
    /// whole, such as a channel of the registry, names only its list).
    /// This names the field behind errors that serde reports only at an ancestor.
    pub(crate) fn child_with_value(&self, parent: &str, message: &str) -> Option<String> {
        let quoted: Vec<&str> = message
            .split('"')
            .skip(1)
            .step_by(2)
            .chain(message.split('`').skip(1).step_by(2))
            .collect();
        let unique = |direct: bool| {
            let mut matches = self.scalars.iter().filter(|(path, value)| {
                let rest = path
                    .strip_prefix(parent)
                    .filter(|rest| rest.starts_with(['.', '[']));
                rest.is_some_and(|rest| {
                    !direct || (rest.starts_with('.') && !rest[1..].contains(['.', '[']))
                }) && quoted.contains(&value.as_str())
            });
            let (path, _) = matches.next()?;
            matches.next().is_none().then(|| path.clone())
        };
        unique(true).or_else(|| unique(false))
    }

    /// The position of `path`, or of its nearest known ancestor.
    pub(crate) fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut path = path;
        loop {
            if let Some(p) = self.positions.get(path) {
                return Some(*p);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// The deepest nesting of mappings and lists a configuration may have. Real files
/// nest under ten levels; the limit keeps every recursive step (parser, serde, drop)
/// far from the stack's end, and the index's work linear in the text.
pub(crate) const MAX_DEPTH: usize = 64;

/// The 1-based line and column where `text` first nests deeper than [`MAX_DEPTH`]
/// (block indentation, `- ` items and `[`/`{` flow collections together). One pass,
/// no recursion; it may count a level more than a full parser in odd corners,
/// which only matters beyond any real file's depth.
pub(crate) fn too_deep(text: &str) -> Option<(usize, usize)> {
    // Columns of the open block nodes, outermost first.
    let mut blocks: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a quoted scalar that continues on the next line: its quote character.
    let mut quote: Option<char> = None;
    // Inside a block scalar (`|`, `>`): the indentation its lines must exceed.
    let mut literal_above: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|c| **c == ' ').count();
        let blank = indent == chars.len() || chars[indent] == '#';
        if let Some(parent) = literal_above {
            if blank || indent > parent {
                continue;
            }
            literal_above = None;
        }
        if blank && quote.is_none() {
            continue;
        }
        let mut i = if quote.is_some() { 0 } else { indent };
        // Where a node may start (a flow collection opens only there in block context).
        let mut node_start = flow == 0 && quote.is_none();
        if node_start {
            while blocks.last().is_some_and(|top| *top >= indent) {
                blocks.pop();
            }
            blocks.push(indent);
        }
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                match c {
                    '\\' if q == '"' => i += 1,
                    '\'' if q == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
                    _ if c == q => quote = None,
                    _ => {}
                }
                i += 1;
                continue;
            }
            let next_is_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
            match c {
                ' ' => {}
                '#' if i == 0 || chars[i - 1] == ' ' => break,
                '"' | '\'' if node_start || flow > 0 => quote = Some(c),
                '[' | '{' if node_start || flow > 0 => flow += 1,
                ']' | '}' if flow > 0 => flow -= 1,
                ',' if flow > 0 => {}
                '-' if flow == 0 && node_start && next_is_space => {
                    // A list item: its content is a node one level deeper.
                    blocks.push(i + 2);
                }
                ':' if flow == 0 && next_is_space => {
                    node_start = true;
                    i += 1;
                    continue;
                }
                '|' | '>' if flow == 0 && node_start => {
                    literal_above = Some(indent);
                    break;
                }
                _ => {
                    if flow == 0 {
                        node_start = false;
                        // A plain scalar runs to the next `: ` or comment.
                        while i + 1 < chars.len()
                            && !(chars[i + 1] == ':' && chars.get(i + 2).is_none_or(|n| *n == ' '))
                            && !(chars[i + 1] == '#' && chars[i] == ' ')
                        {
                            i += 1;
                        }
                    }
                }
            }
            if blocks.len() + flow > MAX_DEPTH {
                return Some((index + 1, i + 1));
            }
            if c != ' ' && c != '-' {
                node_start = flow > 0 && matches!(c, '[' | '{' | ',');
            }
            i += 1;
        }
        if blocks.len() + flow > MAX_DEPTH {
            return Some((index + 1, indent + 1));
        }
    }
    None
}

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<(String, Frame)>,
    positions: HashMap<String, (usize, usize)>,
    scalars: HashMap<String, String>,
    collections: HashMap<String, &'static str>,
}

impl Walker {
    /// The path of the node that starts now, or `None` when a mapping key starts.
    fn value_path(&mut self, mark: Marker) -> Option<String> {
        let Some((path, frame)) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match frame {
            Frame::Map { key: None } => None,
            Frame::Map { key } => {
                let key = key.take().unwrap_or_default();
                Some(if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                })
            }
            Frame::Seq { next } => {
                let item = format!("{path}[{next}]");
                *next += 1;
                self.positions
                    .insert(item.clone(), (mark.line(), mark.col() + 1));
                Some(item)
            }
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => match self.value_path(mark) {
                Some(path) => {
                    self.scalars.insert(path, text);
                }
                None => {
                    if let Some((path, Frame::Map { key })) = self.stack.last_mut() {
                        let full = if path.is_empty() {
                            text.clone()
                        } else {
                            format!("{path}.{text}")
                        };
                        let at = (mark.line(), mark.col() + 1);
                        self.positions.insert(full, at);
                        // A block mapping's start mark is its first key's `:`: a
                        // list item that is one starts where its first key does.
                        if let Some(start) = self.positions.get_mut(path.as_str()) {
                            *start = (*start).min(at);
                        }
                        *key = Some(text);
                    }
                }
            },
            Event::MappingStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.collections.insert(path.clone(), "map");
                self.stack.push((path, Frame::Map { key: None }));
            }
            Event::SequenceStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.collections.insert(path.clone(), "sequence");
                self.stack.push((path, Frame::Seq { next: 0 }));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(..) => {
                self.value_path(mark);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_every_kind_of_nesting() {
        let deep = MAX_DEPTH + 1;
        let mut block = String::new();
        for level in 0..deep {
            block.push_str(&format!("{}a:\n", " ".repeat(level)));
        }
        let cases: Vec<(String, bool)> = vec![
            ("[".repeat(deep) + &"]".repeat(deep), true),
            ("{a: ".repeat(deep) + "1" + &"}".repeat(deep), true),
            ("- ".repeat(deep) + "x", true),
            ("k: ".to_string() + &"[".repeat(deep), true),
            (block, true),
            (
                "[".repeat(MAX_DEPTH - 2) + &"]".repeat(MAX_DEPTH - 2),
                false,
            ),
            // Brackets inside scalars, quotes, comments and block scalars are text.
            (format!("a: x{}\n", "[".repeat(deep)), false),
            (format!("a: \"{}\"\n", "[".repeat(deep)), false),
            (format!("a: 1 # {}\n", "[".repeat(deep)), false),
            (format!("a: |\n  {}\nb: 1\n", "[".repeat(deep)), false),
            (crate::BUILTIN_YAML.to_string(), false),
            (
                include_str!("../../../examples/mon.yaml").to_string(),
                false,
            ),
        ];
        for (text, deep) in cases {
            assert_eq!(too_deep(&text).is_some(), deep, "{text:.80}");
        }
        // The document itself is the first level.
        assert_eq!(too_deep(&"[".repeat(100)), Some((1, MAX_DEPTH)));
    }

    #[test]
    fn finds_keys_and_items() {
        let text = "server:\n  listen: x\nchecks:\n  - name: a\n    type: http\n  - {name: b, timout: 3}\n";
        let p = Positions::of(text);
        assert_eq!(p.find("server"), Some((1, 1)));
        assert_eq!(p.find("server.listen"), Some((2, 3)));
        assert_eq!(p.find("checks[0].type"), Some((5, 5)));
        // A list item that is a mapping: where its first key is, block or flow.
        assert_eq!(p.find("checks[0]"), Some((4, 5)));
        assert_eq!(p.find("checks[1]"), Some((6, 5)));
        assert_eq!(p.find("checks[1].timout"), Some((6, 15)));
        // Unknown leaf: the nearest ancestor.
        assert_eq!(p.find("checks[0].url"), p.find("checks[0]"));
        assert_eq!(p.find("nothing"), None);
        assert_eq!(
            p.child_with_value("checks[1]", "invalid type: string \"3\""),
            Some("checks[1].timout".into())
        );
        assert_eq!(
            p.child_with_value("checks[0]", "unknown variant `http`"),
            Some("checks[0].type".into())
        );
        assert_eq!(p.child_with_value("checks[0]", "no value named"), None);
    }
}
