//! `git diff` and `git diff --numstat -z` output → typed values. Hunk bodies are read by the
//! counts in their `@@` headers, so a removed line that reads `--- x` or an added one that
//! reads `+++ y` is never taken for a file header.

use super::{Diff, DiffLine, FileDiff, FileStat, FileStatus, Hunk, LineKind};
use crate::domain::sanitize::{one_line, strip_all};

/// Parses the output of `git diff` (default prefixes, no colour).
pub fn parse(out: &[u8]) -> Diff {
    let mut diff = Diff::default();
    // Lines left in the current hunk: (old side, new side).
    let mut left = (0u64, 0u64);
    for raw in out.split(|b| *b == b'\n') {
        let in_hunk = left.0 > 0 || left.1 > 0;
        let Some(file) = diff.files.last_mut().filter(|_| in_hunk) else {
            header_line(&mut diff, &mut left, raw);
            continue;
        };
        let (kind, rest) = match raw.first() {
            Some(b'+') => (LineKind::Added, &raw[1..]),
            Some(b'-') => (LineKind::Removed, &raw[1..]),
            Some(b' ') => (LineKind::Context, &raw[1..]),
            Some(b'\\') => (LineKind::NoNewline, &raw[1..]),
            // An empty context line whose space an editor or a mail system stripped.
            None => (LineKind::Context, raw),
            Some(_) => {
                // Not a hunk line: the counts were wrong; read it as a header.
                left = (0, 0);
                header_line(&mut diff, &mut left, raw);
                continue;
            }
        };
        match kind {
            LineKind::Added => {
                file.added += 1;
                left.1 = left.1.saturating_sub(1);
            }
            LineKind::Removed => {
                file.removed += 1;
                left.0 = left.0.saturating_sub(1);
            }
            LineKind::Context => {
                left.0 = left.0.saturating_sub(1);
                left.1 = left.1.saturating_sub(1);
            }
            LineKind::NoNewline => {}
        }
        if let Some(h) = file.hunks.last_mut() {
            h.lines.push(DiffLine {
                kind,
                text: text(rest),
            });
        }
    }
    // `\ No newline at end of file` follows a hunk's last line, after the counts ran out.
    diff
}

/// A line outside a hunk body: a file header, an extended header or a hunk header.
fn header_line(diff: &mut Diff, left: &mut (u64, u64), raw: &[u8]) {
    let line = String::from_utf8_lossy(raw);
    if let Some(rest) = line.strip_prefix("diff --git ") {
        let (old, new) = split_git_line(rest);
        let status = if old == new {
            FileStatus::Modified
        } else {
            FileStatus::Renamed
        };
        diff.files.push(FileDiff {
            old_path: (old != new).then_some(old),
            path: new,
            status,
            binary: false,
            old_mode: None,
            new_mode: None,
            added: 0,
            removed: 0,
            hunks: Vec::new(),
        });
        return;
    }
    let Some(file) = diff.files.last_mut() else {
        return;
    };
    if let Some(h) = line.strip_prefix("@@ ") {
        *left = hunk_counts(h);
        file.hunks.push(Hunk {
            header: one_line(&line),
            lines: Vec::new(),
        });
    } else if let Some(rest) = line.strip_prefix("\\") {
        // A "no newline" marker after the counts ran out belongs to the hunk before.
        if let Some(h) = file.hunks.last_mut() {
            h.lines.push(DiffLine {
                kind: LineKind::NoNewline,
                text: one_line(rest),
            });
        }
    } else if let Some(m) = line.strip_prefix("new file mode ") {
        file.status = FileStatus::Added;
        file.new_mode = Some(one_line(m));
    } else if let Some(m) = line.strip_prefix("deleted file mode ") {
        file.status = FileStatus::Deleted;
        file.old_mode = Some(one_line(m));
    } else if let Some(m) = line.strip_prefix("old mode ") {
        file.old_mode = Some(one_line(m));
    } else if let Some(m) = line.strip_prefix("new mode ") {
        file.new_mode = Some(one_line(m));
    } else if let Some(p) = line.strip_prefix("rename from ") {
        file.status = FileStatus::Renamed;
        file.old_path = Some(path(p));
    } else if let Some(p) = line.strip_prefix("rename to ") {
        file.path = path(p);
    } else if let Some(p) = line.strip_prefix("copy from ") {
        file.status = FileStatus::Copied;
        file.old_path = Some(path(p));
    } else if let Some(p) = line.strip_prefix("copy to ") {
        file.path = path(p);
    } else if line.starts_with("Binary files ") || line.starts_with("GIT binary patch") {
        file.binary = true;
    } else if let Some(p) = line.strip_prefix("+++ ") {
        // The surest spelling of the new name (the `diff --git` line is ambiguous with
        // spaces); `/dev/null` for a deleted file, which keeps its old name.
        if let Some(p) = prefixed(p, "b/") {
            file.path = p;
        }
    }
}

/// `-a,b +c,d @@ …` → (b, d); a missing count is 1.
fn hunk_counts(h: &str) -> (u64, u64) {
    let mut parts = h.split(' ');
    let count = |p: Option<&str>| {
        p.and_then(|s| s.get(1..))
            .map(|s| match s.split_once(',') {
                Some((_, n)) => n.parse().unwrap_or(0),
                None => 1,
            })
            .unwrap_or(0)
    };
    (count(parts.next()), count(parts.next()))
}

/// A `---`/`+++` path with its prefix taken off; None for `/dev/null`.
fn prefixed(p: &str, prefix: &str) -> Option<String> {
    // git ends a name that holds a space with a tab, for patch(1).
    let p = p.strip_suffix('\t').unwrap_or(p);
    let p = unquote(p);
    p.strip_prefix(prefix).map(one_line)
}

/// A path from an extended header (no prefix), unquoted and made printable.
fn path(p: &str) -> String {
    one_line(&unquote(p))
}

/// The two paths of `diff --git a/X b/Y`. Unquoted names with spaces are ambiguous; when the
/// two halves are the same name (no rename) the line splits in the middle, and a rename's
/// real names come from its `rename from`/`rename to` lines anyway.
fn split_git_line(rest: &str) -> (String, String) {
    let (a, b) = if rest.starts_with('"') {
        let end = closing_quote(rest).unwrap_or(rest.len());
        let (a, b) = rest.split_at(end);
        (unquote(a), unquote(b.trim_start()))
    } else if rest.len() % 2 == 1 && rest.as_bytes().get(rest.len() / 2) == Some(&b' ') {
        let (a, b) = rest.split_at(rest.len() / 2);
        if a.get(2..) == b.get(3..) {
            (a.to_string(), b[1..].to_string())
        } else {
            split_at_b(rest)
        }
    } else {
        split_at_b(rest)
    };
    let strip = |s: String, prefix: &str| {
        let s = s.strip_prefix(prefix).map(str::to_string).unwrap_or(s);
        one_line(&s)
    };
    (strip(a, "a/"), strip(b, "b/"))
}

fn split_at_b(rest: &str) -> (String, String) {
    match rest.find(" b/").or_else(|| rest.find(" \"b/")) {
        Some(i) => (rest[..i].to_string(), unquote(&rest[i + 1..])),
        None => (rest.to_string(), rest.to_string()),
    }
}

/// The byte just past the closing quote of a quoted name at the start of `s`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i + 1),
            _ => escaped = false,
        }
    }
    None
}

/// Undoes git's C-style quoting (`"a\tb\303\251"`); anything else is returned as is.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(n @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(n - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(u8::try_from(v & 0xff).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A content line made printable: escape sequences and control characters go, tabs become
/// spaces, invalid UTF-8 becomes U+FFFD.
fn text(raw: &[u8]) -> String {
    strip_all(&String::from_utf8_lossy(raw))
}

/// Parses `git diff --numstat -z`: `A\tR\tPATH\0`, or for a rename `A\tR\t\0OLD\0NEW\0`;
/// a binary file counts `-\t-`.
pub fn parse_numstat(out: &[u8]) -> Vec<FileStat> {
    let mut files = Vec::new();
    let mut fields = out.split(|b| *b == 0);
    while let Some(rec) = fields.next() {
        if rec.is_empty() {
            continue;
        }
        let rec = String::from_utf8_lossy(rec);
        let mut cols = rec.splitn(3, '\t');
        let (a, r, p) = (cols.next(), cols.next(), cols.next().unwrap_or(""));
        let lines = match (a.map(str::parse), r.map(str::parse)) {
            (Some(Ok(a)), Some(Ok(r))) => Some((a, r)),
            _ => None,
        };
        let (old_path, path) = if p.is_empty() {
            let old = fields.next().map(String::from_utf8_lossy);
            let new = fields.next().map(String::from_utf8_lossy);
            (old.map(|o| one_line(&o)), new.map(|n| one_line(&n)))
        } else {
            (None, Some(one_line(p)))
        };
        files.push(FileStat {
            path: path.unwrap_or_default(),
            old_path,
            lines,
        });
    }
    files
}
