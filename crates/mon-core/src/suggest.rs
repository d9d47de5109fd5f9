//! [`closest`]: the "did you mean" of every error that names an unknown key, variable or metric.

/// The known name closest to `name` (edit distance at most a third of its length, and
/// at least 2), for "did you mean" hints. Ties go to the first known name.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= name.chars().count().div_ceil(3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["interval", "host", "cpu_percent", "memory_percent"];
        for (name, want) in [
            ("intervall", Some("interval")),
            ("cpu_percnt", Some("cpu_percent")),
            ("hots", Some("host")),
            ("something_else", None),
        ] {
            assert_eq!(closest(name, known), want, "{name}");
        }
    }
}
