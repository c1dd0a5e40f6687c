//! Small text helpers shared by the renderers: cutting hostile strings down to a size a reader
//! (and a browser) can take, on character boundaries, saying what was cut.

/// `text` cut to at most `max_bytes` bytes on a character boundary, and how many bytes were cut.
pub fn cut(text: &str, max_bytes: usize) -> (&str, usize) {
    if text.len() <= max_bytes {
        return (text, 0);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], text.len() - end)
}

/// `text` cut to at most `max_bytes`, with a note saying how much was left out.
pub fn clip(text: &str, max_bytes: usize) -> String {
    match cut(text, max_bytes) {
        (all, 0) => all.to_string(),
        (head, rest) => format!("{head}… [{} more not shown]", bytes(rest)),
    }
}

/// `text` on one line (line breaks shown as spaces), cut to at most `max_bytes`.
pub fn one_line(text: &str, max_bytes: usize) -> String {
    let (head, rest) = cut(text, max_bytes);
    let mut line: String = head
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if rest > 0 {
        line.push('…');
    }
    line
}

/// Removes control characters other than line breaks and tabs (they break terminals and XML,
/// and mean nothing to a reader).
pub fn printable(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    text.chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect()
}

/// A size for people: `812 bytes`, `4.0 KiB`, `12.3 MiB`.
pub fn bytes(n: usize) -> String {
    match n {
        0..1024 => format!("{n} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// A duration for people: `850 ms`, `12.4 s`, `3 min 05 s`, `1 h 02 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// `1 step`, `3 steps`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_respects_character_boundaries() {
        assert_eq!(cut("héllo", 2), ("h", 5));
        assert_eq!(cut("abc", 10), ("abc", 0));
        assert_eq!(clip("aaaa", 2), "aa… [2 bytes more not shown]");
        assert_eq!(one_line("a\nb\u{0}c", 100), "a b c");
        assert_eq!(printable("a\u{1b}[31mb\n"), "a[31mb\n");
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(bytes(812), "812 bytes");
        assert_eq!(bytes(4096), "4.0 KiB");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_400), "12.4 s");
        assert_eq!(duration(185_000), "3 min 05 s");
        assert_eq!(duration(3_720_000), "1 h 02 min");
        assert_eq!(plural(1, "step", "steps"), "1 step");
    }
}
