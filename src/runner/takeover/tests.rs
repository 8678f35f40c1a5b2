use super::*;

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_default();
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
    path.to_string_lossy().into_owned()
}

#[test]
fn the_body_is_edited_through_a_private_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("mode");
    let editor = script(
        dir.path(),
        "ed",
        &format!(
            "stat -c %a \"$1\" > {}; printf 'new body\\n\\n' > \"$1\"",
            log.display()
        ),
    );
    let out = edit_body(4, &editor, "old body");
    assert_eq!(out.body.as_deref(), Some("new body"));
    assert!(out.ok, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap_or_default().trim(),
        "600"
    );
    // A final newline an editor adds is no change.
    let touch = script(dir.path(), "touch", "printf 'same\\n' > \"$1\"");
    let out = edit_body(4, &touch, "same");
    assert_eq!(
        (out.body, out.message.as_str()),
        (None, "#4: body unchanged")
    );
    // An editor that fails saves nothing.
    let fail = script(dir.path(), "fail", "printf 'x' > \"$1\"; exit 3");
    let out = edit_body(4, &fail, "same");
    assert!(!out.ok && out.body.is_none());
    assert!(out.message.contains("nothing saved"), "{}", out.message);
    // Arguments in $EDITOR work, as they do for git.
    let args = script(dir.path(), "args", "printf '%s' \"$1\" > \"$2\"");
    let out = edit_body(4, &format!("{args} --flag"), "same");
    assert_eq!(out.body.as_deref(), Some("--flag"));
}

#[test]
fn a_body_that_is_not_utf8_is_kept_not_saved() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = script(dir.path(), "bad", "printf 'ok \\377\\n' > \"$1\"");
    let out = edit_body(9, &bad, "x");
    assert!(!out.ok && out.body.is_none());
    let kept = out
        .message
        .split("kept in ")
        .nth(1)
        .map(|p| PathBuf::from(p.trim_end_matches(')')))
        .unwrap_or_default();
    assert!(kept.exists(), "{}", out.message);
    let _ = std::fs::remove_file(kept);
}
