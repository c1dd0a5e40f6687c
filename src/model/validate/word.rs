//! Patterns of the form `[first][rest]*` over ASCII classes (ServerName's and BackupId's):
//! decided with two lookup tables instead of a regex search for ASCII strings (any other
//! string is left to the regex).

/// A word pattern: one character of `first`, then any number of characters of `rest`.
pub(super) struct Word {
    first: [bool; 128],
    rest: [bool; 128],
}

impl Word {
    /// `source` as a word pattern, when it is one (optionally between `^` and `$`).
    pub(super) fn parse(source: &str) -> Option<Word> {
        let s = source.strip_prefix('^').unwrap_or(source);
        let s = s.strip_suffix('$').unwrap_or(s);
        let (first, s) = class(s)?;
        let (rest, s) = class(s)?;
        (s == "*").then_some(Word { first, rest })
    }

    /// Whether the whole of `s` matches; None when `s` is not ASCII.
    pub(super) fn matches_whole(&self, s: &str) -> Option<bool> {
        if !s.is_ascii() {
            return None;
        }
        Some(match s.as_bytes().split_first() {
            None => false,
            Some((f, rest)) => {
                self.first[*f as usize] && rest.iter().all(|c| self.rest[*c as usize])
            }
        })
    }
}

/// A bracket class at the start of `s` made of ASCII characters, ranges and escaped
/// punctuation only: its table and what follows it.
fn class(s: &str) -> Option<([bool; 128], &str)> {
    let body = s.strip_prefix('[')?;
    let mut table = [false; 128];
    let mut chars = body.char_indices().peekable();
    let mut first = true;
    loop {
        let (i, c) = chars.next()?;
        if c == ']' && !first {
            return Some((table, &body[i + 1..]));
        }
        first = false;
        let lo = literal(c, &mut chars)?;
        let hi = match chars.peek() {
            Some((_, '-')) => {
                chars.next();
                match chars.peek() {
                    Some((_, ']')) => {
                        table[b'-' as usize] = true;
                        lo
                    }
                    _ => {
                        let (_, c) = chars.next()?;
                        literal(c, &mut chars)?
                    }
                }
            }
            _ => lo,
        };
        if lo > hi {
            return None;
        }
        for b in lo..=hi {
            table[b as usize] = true;
        }
    }
}

/// One character of a class: a plain ASCII letter, digit or unambiguous punctuation, or an
/// escaped punctuation character.
fn literal(c: char, chars: &mut impl Iterator<Item = (usize, char)>) -> Option<u8> {
    let c = if c == '\\' {
        let (_, e) = chars.next()?;
        e.is_ascii_punctuation().then_some(e)?
    } else if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '@') {
        c
    } else {
        // `[`, `]`, `^`, `-`, `&`, `~` and the rest mean more inside a class: left to the regex.
        return None;
    };
    Some(c as u8)
}

#[cfg(test)]
mod tests {
    use super::super::super::service::{ServiceModel, Shape};
    use super::*;

    /// Every string of up to two printable ASCII characters, and some longer ones.
    fn samples() -> Vec<String> {
        let printable: Vec<char> = (b' '..=b'~').map(char::from).collect();
        let mut out = vec![String::new()];
        for a in &printable {
            out.push(a.to_string());
            for b in &printable {
                out.push(format!("{a}{b}"));
            }
        }
        for s in [
            "web-1",
            "web-20250101000000000",
            "a.b:c-d",
            "Ab9-",
            "a b",
            "web\n",
        ] {
            out.push(s.to_string());
        }
        out
    }

    #[test]
    fn word_patterns_decide_as_their_regex() {
        let model = ServiceModel::get();
        let samples = samples();
        let mut words = 0;
        for shape in model.shapes.values() {
            let Shape::String {
                pattern: Some(p), ..
            } = shape
            else {
                continue;
            };
            let Some(word) = Word::parse(&p.source) else {
                continue;
            };
            words += 1;
            for s in &samples {
                assert_eq!(
                    word.matches_whole(s),
                    Some(p.anchored.is_match(s)),
                    "{} {s:?}",
                    p.source
                );
            }
            assert_eq!(word.matches_whole("wéb"), None);
        }
        // ServerName's and BackupId's patterns at least.
        assert!(words >= 2, "{words} word patterns");
    }

    #[test]
    fn other_patterns_are_left_to_the_regex() {
        for source in [
            "(?s).*",
            "[a-z]+",
            "[^a][b]*",
            "[a-z&&b][c]*",
            "[\\p{L}][a]*",
            "[a][b]*x",
        ] {
            assert!(Word::parse(source).is_none(), "{source}");
        }
    }
}
