//! The diff of a divergence as `report.html` shows it: unified-diff lines classified for
//! colour, and within a changed line the words that changed marked.

use serde::Serialize;

use crate::report::redact::Redactor;
use crate::report::text::{self, clip, printable};
use crate::report::{unified_diff, Divergence};

use super::MAX_LINE;

/// Lines of a diff shown.
const MAX_DIFF_LINES: usize = 300;
/// Bytes of a diff read.
const MAX_DIFF_BYTES: usize = 64 * 1024;

#[derive(Serialize)]
pub(super) struct DiffLine {
    /// `add`, `del`, `ctx`, `hunk` or `file`.
    class: &'static str,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
pub(super) struct Segment {
    text: String,
    /// The characters that changed within a changed line.
    emph: bool,
}

/// The divergence's diff as classified lines, with the changed characters of each changed line
/// marked; computed from the allowed outcomes and the observation when the run left it empty.
pub(super) fn diff_lines(d: &Divergence, c: &Redactor) -> (Vec<DiffLine>, Option<String>) {
    let diff = if d.diff.trim().is_empty() {
        let allowed: Vec<String> = d.allowed.iter().map(|a| c.line(a, MAX_LINE)).collect();
        unified_diff(&allowed.join("\n"), &c.line(&d.observed, MAX_LINE))
    } else {
        printable(&c.cut(&d.diff, MAX_DIFF_BYTES).0)
    };
    let all: Vec<&str> = diff.lines().collect();
    let shown = &all[..all.len().min(MAX_DIFF_LINES)];
    let note = (all.len() > MAX_DIFF_LINES || diff.len() >= MAX_DIFF_BYTES).then(|| {
        format!(
            "the diff is cut at {} lines or {}; report.json has all of it",
            MAX_DIFF_LINES,
            text::bytes(MAX_DIFF_BYTES)
        )
    });
    let class_of = |line: &str| {
        if line.starts_with("+++") || line.starts_with("---") {
            "file"
        } else if line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            "ctx"
        }
    };
    let mut out: Vec<DiffLine> = Vec::with_capacity(shown.len());
    let mut i = 0;
    while i < shown.len() {
        // A run of deleted lines followed by a run of added ones: pair them up and mark the
        // characters that changed.
        let dels = shown[i..]
            .iter()
            .take_while(|l| class_of(l) == "del")
            .count();
        let adds = shown[i + dels..]
            .iter()
            .take_while(|l| class_of(l) == "add")
            .count();
        if dels > 0 && adds > 0 {
            let (old, new) = (&shown[i..i + dels], &shown[i + dels..i + dels + adds]);
            let mut del_lines = Vec::new();
            let mut add_lines = Vec::new();
            for k in 0..dels.max(adds) {
                match (old.get(k), new.get(k)) {
                    (Some(o), Some(n)) => {
                        let (a, b) = inline_changes(o, n);
                        del_lines.push(DiffLine {
                            class: "del",
                            segments: a,
                        });
                        add_lines.push(DiffLine {
                            class: "add",
                            segments: b,
                        });
                    }
                    (Some(o), None) => del_lines.push(plain("del", o)),
                    (None, Some(n)) => add_lines.push(plain("add", n)),
                    (None, None) => {}
                }
            }
            out.extend(del_lines);
            out.extend(add_lines);
            i += dels + adds;
        } else {
            out.push(plain(class_of(shown[i]), shown[i]));
            i += 1;
        }
    }
    (out, note)
}

fn plain(class: &'static str, line: &str) -> DiffLine {
    DiffLine {
        class,
        segments: vec![Segment {
            text: clip(line, MAX_LINE),
            emph: false,
        }],
    }
}

/// The segments of a deleted and an added line, the characters that differ marked, when the
/// lines are alike enough for that to help (else both lines plain).
fn inline_changes(old: &str, new: &str) -> (Vec<Segment>, Vec<Segment>) {
    use similar::{ChangeTag, TextDiff};
    if old.len() > MAX_LINE || new.len() > MAX_LINE {
        return (plain("del", old).segments, plain("add", new).segments);
    }
    // Compare without the leading '-'/'+' marker, which always differs, token by token (words,
    // numbers, single punctuation), so a changed name is marked whole, not letter by letter.
    let (o, n) = (tokens(&old[1..]), tokens(&new[1..]));
    let diff = TextDiff::from_slices(&o, &n);
    if diff.ratio() < 0.3 {
        return (plain("del", old).segments, plain("add", new).segments);
    }
    let mut del = vec![Segment {
        text: "-".into(),
        emph: false,
    }];
    let mut add = vec![Segment {
        text: "+".into(),
        emph: false,
    }];
    let push = |segs: &mut Vec<Segment>, s: &str, emph: bool| match segs.last_mut() {
        Some(last) if last.emph == emph => last.text.push_str(s),
        _ => segs.push(Segment {
            text: s.to_string(),
            emph,
        }),
    };
    for change in diff.iter_all_changes() {
        let s = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut del, s, false);
                push(&mut add, s, false);
            }
            ChangeTag::Delete => push(&mut del, s, true),
            ChangeTag::Insert => push(&mut add, s, true),
        }
    }
    (del, add)
}

/// Words (letters, digits, `_`), runs of spaces, and single other characters.
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut prev: Option<u8> = None;
    for (i, ch) in line.char_indices() {
        let k = class(ch);
        if i > start && (prev != Some(k) || k == 2) {
            out.push(&line[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_marked_whole() {
        assert_eq!(
            tokens(r#"  "Status": "IN_PROGRESS","#),
            vec![
                "  ",
                "\"",
                "Status",
                "\"",
                ":",
                " ",
                "\"",
                "IN_PROGRESS",
                "\"",
                ","
            ]
        );
        let (del, add) = inline_changes(r#"-  "Status": "IN_PROGRESS","#, r#"+  "Status": "OK","#);
        let marked = |segs: &[Segment]| -> Vec<String> {
            segs.iter()
                .filter(|s| s.emph)
                .map(|s| s.text.clone())
                .collect()
        };
        assert_eq!(marked(&del), vec!["IN_PROGRESS"]);
        assert_eq!(marked(&add), vec!["OK"]);
        // Lines with little in common are shown plain.
        let (del, _) = inline_changes("-InvalidStateException", "+ValidationException: busy");
        assert!(marked(&del).is_empty());
    }
}
