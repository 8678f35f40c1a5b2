//! Key spellings: what users write in `[ui.keys]` and what the screen shows.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Parses `"ctrl-s"`, `"H"`, `"enter"`, `"pgdn"`, `"?"`, `"shift-tab"`.
pub fn parse_key(spec: &str) -> Option<KeyEvent> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = spec.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower
            .strip_prefix("ctrl-")
            .or_else(|| lower.strip_prefix("c-"))
        {
            mods |= KeyModifiers::CONTROL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower
            .strip_prefix("alt-")
            .or_else(|| lower.strip_prefix("m-"))
        {
            mods |= KeyModifiers::ALT;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower
            .strip_prefix("shift-")
            .or_else(|| lower.strip_prefix("s-"))
        {
            mods |= KeyModifiers::SHIFT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let code = match rest.to_ascii_lowercase().as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        _ => {
            let mut chars = rest.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                let lower = rest.to_ascii_lowercase();
                let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
                return Some(KeyEvent::new(KeyCode::F(n), mods));
            }
            KeyCode::Char(c)
        }
    };
    Some(normalize(KeyEvent::new(code, mods)))
}

/// Drops SHIFT from characters (the character already says it) so `H` matches however the
/// terminal reports it.
pub fn normalize(key: KeyEvent) -> KeyEvent {
    let mut mods =
        key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if let KeyCode::Char(_) = key.code {
        mods.remove(KeyModifiers::SHIFT);
    }
    KeyEvent::new(key.code, mods)
}

/// Short display form of a key for the hint bar and help.
pub fn key_label(key: &KeyEvent) -> String {
    let mut s = String::new();
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        s.push_str("ctrl-");
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        s.push_str("alt-");
    }
    match key.code {
        KeyCode::Char(' ') => s.push_str("space"),
        KeyCode::Char(c) => s.push(c),
        KeyCode::Enter => s.push_str("enter"),
        KeyCode::Esc => s.push_str("esc"),
        KeyCode::Tab => s.push_str("tab"),
        KeyCode::BackTab => s.push_str("shift-tab"),
        KeyCode::Up => s.push('↑'),
        KeyCode::Down => s.push('↓'),
        KeyCode::Left => s.push('←'),
        KeyCode::Right => s.push('→'),
        KeyCode::Home => s.push_str("home"),
        KeyCode::End => s.push_str("end"),
        KeyCode::PageUp => s.push_str("pgup"),
        KeyCode::PageDown => s.push_str("pgdn"),
        KeyCode::Backspace => s.push_str("backspace"),
        KeyCode::Delete => s.push_str("delete"),
        KeyCode::F(n) => s.push_str(&format!("f{n}")),
        _ => s.push('?'),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_users_write() {
        assert_eq!(
            parse_key("ctrl-s"),
            Some(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            parse_key("H"),
            Some(KeyEvent::new(KeyCode::Char('H'), KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("shift-tab"),
            Some(KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("pgdn"),
            Some(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("f1"),
            Some(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE))
        );
        assert_eq!(parse_key("nonsense"), None);
    }

    #[test]
    fn every_key_a_user_can_write_has_a_label_that_parses_back() {
        for spec in [
            "ctrl-s",
            "H",
            "enter",
            "esc",
            "tab",
            "shift-tab",
            "space",
            "home",
            "end",
            "pgup",
            "pgdn",
            "backspace",
            "delete",
            "f5",
            "alt-x",
            "?",
        ] {
            let key = parse_key(spec).expect(spec);
            assert_eq!(parse_key(&key_label(&key)), Some(key), "{spec}");
        }
    }
}
