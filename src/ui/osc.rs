//! `[notify] osc`: a desktop notification asked of the terminal itself (OSC 9 or OSC 777),
//! which reaches a person over SSH too. Inside tmux it is wrapped in tmux's DCS passthrough
//! (tmux forwards it with `set -g allow-passthrough on`). The event loop writes it through the
//! terminal's writer between frames; this module only builds the bytes.

use crate::config::OscStyle;

/// Most characters of the notice's text.
const TEXT_CAP: usize = 200;

/// The notice's text, safe inside an OSC string: escape sequences, control characters
/// (BEL and ESC end the string early; newlines split it), bidi overrides removed; at most
/// [`TEXT_CAP`] characters.
pub fn clean(text: &str) -> String {
    let plain = crate::domain::sanitize::one_line(text);
    let mut out: String = plain
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(TEXT_CAP)
        .collect();
    if plain.chars().count() > TEXT_CAP {
        out.push('…');
    }
    out
}

/// The bytes that ask the terminal for a notification saying `text`; `in_tmux` wraps them
/// in tmux's passthrough (every ESC inside doubled).
pub fn sequence(style: OscStyle, text: &str, in_tmux: bool) -> Vec<u8> {
    let text = clean(text);
    let osc = match style {
        // A leading number would read as another OSC 9 command (ConEmu's `9;4` progress).
        OscStyle::Nine => format!("\u{1b}]9;autopilot: {text}\u{7}"),
        OscStyle::SevenSevenSeven => format!("\u{1b}]777;notify;autopilot;{text}\u{7}"),
    };
    if !in_tmux {
        return osc.into_bytes();
    }
    format!(
        "\u{1b}Ptmux;{}\u{1b}\\",
        osc.replace('\u{1b}', "\u{1b}\u{1b}")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_cannot_end_the_sequence_or_start_another() {
        let hostile = "#3 blocked: Pick\u{7} a \u{1b}]0;pwned\u{7}name\u{1b}\\\n\u{9c}x\u{1b}[2J";
        let bytes = sequence(OscStyle::Nine, hostile, false);
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(text, "\u{1b}]9;autopilot: #3 blocked: Pick a name x\u{7}");
        assert_eq!(text.matches('\u{1b}').count(), 1);
        assert_eq!(text.matches('\u{7}').count(), 1);
    }

    #[test]
    fn osc_777_names_its_title_and_tmux_wraps_with_escapes_doubled() {
        let raw = sequence(OscStyle::SevenSevenSeven, "#1 ready for review", false);
        assert_eq!(raw, b"\x1b]777;notify;autopilot;#1 ready for review\x07");
        let wrapped = sequence(OscStyle::Nine, "hi", true);
        assert_eq!(wrapped, b"\x1bPtmux;\x1b\x1b]9;autopilot: hi\x07\x1b\\");
    }

    #[test]
    fn long_text_is_cut() {
        let text = clean(&"x".repeat(10_000));
        assert_eq!(text.chars().count(), TEXT_CAP + 1);
    }
}
