//! Makes agent output safe to draw: only colour (SGR) escapes survive.
//!
//! Agent output is untrusted. OSC 52 would write the user's clipboard, other sequences move the
//! cursor, switch screens, retitle the window or ring the bell. Everything but SGR is removed
//! here, in the worker, before any text reaches a widget. Bidirectional overrides and isolates
//! go too: they make a terminal (or a review tool) show text in another order than it is
//! stored, so a title or a commit message could read differently from what it says.

use std::borrow::Cow;

/// Removes every control sequence, control character and bidi override (U+202A–U+202E,
/// U+2066–U+2069) except SGR colour codes and newlines; tabs become spaces.
pub fn sanitize(input: &str) -> Cow<'_, str> {
    if is_plain(input) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    let mut seq = String::new();
                    let mut final_byte = None;
                    // A malformed sequence ends at the first byte that cannot belong to it;
                    // that byte (often the ESC of the next sequence) is handled afresh.
                    while let Some(&n) = chars.peek() {
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            chars.next();
                            final_byte = Some(n);
                            break;
                        }
                        if !('\u{20}'..='\u{3f}').contains(&n) {
                            break;
                        }
                        chars.next();
                        seq.push(n);
                    }
                    let is_sgr = final_byte == Some('m')
                        && seq
                            .chars()
                            .all(|ch| ch.is_ascii_digit() || ch == ';' || ch == ':');
                    if is_sgr {
                        out.push_str("\u{1b}[");
                        out.push_str(&seq);
                        out.push('m');
                    }
                }
                // OSC, DCS, SOS, PM, APC: skip the payload up to BEL or ST.
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-byte escapes (charset, keypad, RIS …) are dropped whole.
                Some(_) | None => {}
            },
            // C1 string introducers: OSC, DCS, SOS, PM, APC.
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            // C1 CSI: drop its parameters and final byte.
            '\u{9b}' => {
                for n in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&n) {
                        break;
                    }
                }
            }
            '\t' => out.push_str("    "),
            '\n' => out.push('\n'),
            c if is_bidi_control(c) => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// U+202A–U+202E (embeddings, overrides) and U+2066–U+2069 (isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `input` holds nothing to remove or rewrite: no C0 control but newline, no DEL, no C1
/// control (U+0080–U+009F, encoded as 0xC2 0x80–0x9F), no bidi control (0xE2 0x80 0xAA–0xAE,
/// 0xE2 0x81 0xA6–0xA9). The common case, checked on bytes.
fn is_plain(input: &str) -> bool {
    let bytes = input.as_bytes();
    let suspicious = |b: u8| (b < 0x20 && b != b'\n') | (b == 0x7f) | (b == 0xc2) | (b == 0xe2);
    // Fixed-size blocks folded without early exit compile to vector compares; `any` over the
    // whole slice does not. 0xC2 and 0xE2 also start ordinary characters such as `©`, a
    // no-break space or `—`, so a block with a hit is looked at closely.
    let mut blocks = bytes.chunks_exact(32);
    let hit = blocks
        .by_ref()
        .any(|block| block.iter().fold(false, |a, &b| a | suspicious(b)))
        || blocks.remainder().iter().any(|&b| suspicious(b));
    !hit || !bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && b != b'\n')
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
            || (b == 0xe2
                && matches!(
                    (bytes.get(i + 1), bytes.get(i + 2)),
                    (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
                ))
    })
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(n) = chars.next() {
        match n {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Removes colour codes too: for plain-text places (comments, card titles, JSON).
pub fn strip_all(input: &str) -> String {
    let safe = sanitize(input);
    if !safe.contains('\u{1b}') {
        return safe.into_owned();
    }
    let mut out = String::with_capacity(safe.len());
    let mut chars = safe.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for n in chars.by_ref() {
                if n == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`strip_all`] on one line: for names, ids and titles printed in a row, where a newline
/// would break the row (and a name spanning lines could pass for other output).
pub fn one_line(input: &str) -> String {
    let clean = strip_all(input);
    if !clean.contains('\n') && clean.trim().len() == clean.len() {
        return clean;
    }
    clean
        .split('\n')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_colour_and_text() {
        let s = "\u{1b}[31mred\u{1b}[0m and \u{1b}[1;38;5;42mbold\u{1b}[m";
        assert_eq!(sanitize(s), s);
        assert_eq!(strip_all(s), "red and bold");
    }

    #[test]
    fn drops_hostile_sequences() {
        let cases = [
            ("\u{1b}]52;c;ZXZpbA==\u{7}clip", "clip"), // OSC 52 clipboard write
            ("\u{1b}]0;pwned title\u{1b}\\t", "t"),    // title change, ST-terminated
            ("a\u{1b}[2J\u{1b}[Hb", "ab"),             // clear + cursor home
            ("\u{1b}[?1049hx\u{1b}[?1049l", "x"),      // alternate screen
            ("bell\u{7}\u{7}\u{7}", "bell"),           // bell flood
            ("\u{1b}Pq#0;2;0;0;0\u{1b}\\s", "s"),      // DCS (sixel)
            ("\u{9b}31mc1", "c1"),                     // 8-bit CSI
            ("\u{9d}8;;http://x\u{9c}link", "link"),   // 8-bit OSC hyperlink
            ("over\rwrite", "overwrite"),
            ("\u{1b}[31;\u{1b}]52;c;x\u{7}m", "m"), // nested, malformed
            ("\u{1b}c", ""),                        // full reset
            ("tab\there", "tab    here"),
            ("nul\u{0}byte", "nulbyte"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
            assert!(!sanitize(input).contains(['\u{7}', '\u{9b}', '\u{9d}']));
        }
    }

    #[test]
    fn plain_text_takes_the_fast_path_and_controls_do_not() {
        assert!(is_plain("hello, wörld — ✓\nnext line"));
        assert!(is_plain("\u{a0}non-breaking and \u{c2}\u{bf} are text"));
        assert!(!is_plain("tab\there"));
        assert!(!is_plain("esc\u{1b}[31m"));
        assert!(!is_plain("del\u{7f}"));
        assert!(!is_plain("c1\u{9b}31m"));
        assert!(!is_plain("cr\r"));
        // Every position of a long line, in the blocks and in the remainder.
        let long = "y".repeat(130);
        assert!(is_plain(&long));
        for i in 0..long.len() {
            let mut bad = long.clone().into_bytes();
            bad[i] = 0x1b;
            let bad = String::from_utf8(bad).expect("ascii");
            assert!(!is_plain(&bad), "ESC at {i}");
        }
    }

    #[test]
    fn bidi_overrides_and_isolates_are_dropped() {
        let spoof = "fix \u{202e}txt.exe\u{202c} and \u{2066}a\u{2069}\u{2067}b\u{2068}c";
        assert_eq!(sanitize(spoof), "fix txt.exe and abc");
        assert_eq!(strip_all(spoof), "fix txt.exe and abc");
        assert!(!is_plain("\u{202a}"));
        assert!(!is_plain("x\u{2069}"));
        // other characters sharing the lead byte stay, on the fast path
        assert!(is_plain("— … ✓ ▸ \u{2029}\u{2070}"));
        assert_eq!(sanitize("\u{200f}rtl mark stays"), "\u{200f}rtl mark stays");
    }

    #[test]
    fn one_line_joins_lines_and_strips() {
        assert_eq!(one_line("a\nb\r\n\n c\u{1b}]0;x\u{7}"), "a b c");
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line(" \t "), "");
    }

    #[test]
    fn unterminated_sequences_do_not_swallow_forever_or_panic() {
        assert_eq!(sanitize("\u{1b}"), "");
        assert_eq!(sanitize("\u{1b}["), "");
        assert_eq!(sanitize("x\u{1b}]52;c;AAAA"), "x");
    }
}
