//! Prompt template names: what `--template`, `[templates]` and a template's file name may be.

/// Most bytes of a template's name.
pub const NAME_MAX: usize = 64;

/// Checks a template name: 1 to [`NAME_MAX`] of `A-Z a-z 0-9 _ -`, so it names a file in a
/// templates directory and never a path out of it.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a template name: use 1 to {NAME_MAX} letters, digits, '_' or '-' (the name of a file NAME.md in .autopilot/templates/)",
            crate::domain::sanitize::one_line(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_words_never_paths() {
        for ok in ["bugfix", "Feature_2", "a-b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a.md",
            "x y",
            "é",
            &"a".repeat(65),
            "\u{1b}[2J",
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(
                e.contains("not a template name") && !e.contains('\u{1b}'),
                "{e}"
            );
        }
    }
}
