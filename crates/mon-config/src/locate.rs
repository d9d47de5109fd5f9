//! Finds the line:column of a key path (`checks[2].timeout`) in YAML text, so that
//! errors found after parsing (validation, flattened fields) still point at the source.

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
        }
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

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<(String, Frame)>,
    positions: HashMap<String, (usize, usize)>,
    scalars: HashMap<String, String>,
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
                        self.positions.insert(full, (mark.line(), mark.col() + 1));
                        *key = Some(text);
                    }
                }
            },
            Event::MappingStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.stack.push((path, Frame::Map { key: None }));
            }
            Event::SequenceStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
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
    fn finds_keys_and_items() {
        let text = "server:\n  listen: x\nchecks:\n  - name: a\n    type: http\n  - {name: b, timout: 3}\n";
        let p = Positions::of(text);
        assert_eq!(p.find("server"), Some((1, 1)));
        assert_eq!(p.find("server.listen"), Some((2, 3)));
        assert_eq!(p.find("checks[0].type"), Some((5, 5)));
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
