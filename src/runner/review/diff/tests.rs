use super::*;

const SAMPLE: &str = "\
diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,4 @@ fn main() {
 keep
--- not a header, a removed line
+++ not a header, an added line
 
@@ -10 +10,2 @@
-old
+new
+\tnewer
\\ No newline at end of file
diff --git a/old name.txt b/new name.txt
similarity index 90%
rename from old name.txt
rename to new name.txt
index 3333333..4444444 100644
--- a/old name.txt\t
+++ b/new name.txt\t
@@ -1 +1 @@
-a
+b
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..5555555
Binary files /dev/null and b/logo.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 6666666..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-one
-two
diff --git \"a/t\\303\\251st\\033[1m.txt\" \"b/t\\303\\251st\\033[1m.txt\"
new file mode 100644
--- /dev/null
+++ \"b/t\\303\\251st\\033[1m.txt\"
@@ -0,0 +1 @@
+colour \x1b[31mred\x1b[0m and \x1b]52;c;ZXZpbA==\x07clip
";

#[test]
fn files_statuses_and_counts_are_typed() {
    let d = parse(SAMPLE.as_bytes());
    let names: Vec<&str> = d.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "src/lib.rs",
            "new name.txt",
            "logo.png",
            "run.sh",
            "gone.txt",
            "tést.txt"
        ]
    );
    let lib = &d.files[0];
    assert_eq!(lib.status, FileStatus::Modified);
    assert_eq!((lib.added, lib.removed), (3, 2));
    assert_eq!(lib.hunks.len(), 2);
    assert_eq!(lib.hunks[0].header, "@@ -1,4 +1,4 @@ fn main() {");
    // lines that look like file headers inside a hunk stay lines
    assert_eq!(
        lib.hunks[0].lines[1],
        DiffLine {
            kind: LineKind::Removed,
            text: "-- not a header, a removed line".into()
        }
    );
    assert_eq!(lib.hunks[0].lines[3].kind, LineKind::Context);
    let last = &lib.hunks[1].lines;
    assert_eq!(last[2].text, "    newer", "tabs become spaces");
    assert_eq!(last[3].kind, LineKind::NoNewline);

    let ren = &d.files[1];
    assert_eq!(ren.status, FileStatus::Renamed);
    assert_eq!(ren.old_path.as_deref(), Some("old name.txt"));
    assert_eq!(ren.display_path(), "old name.txt → new name.txt");
    assert_eq!(ren.notes(), ["renamed from old name.txt"]);

    let png = &d.files[2];
    assert!(png.binary && png.hunks.is_empty());
    assert_eq!(png.status, FileStatus::Added);
    assert_eq!(png.notes(), ["added", "binary"]);

    let sh = &d.files[3];
    assert_eq!(sh.mode_change(), Some(("100644", "100755")));
    assert_eq!(sh.notes(), ["mode 100644 → 100755"]);

    let gone = &d.files[4];
    assert_eq!(gone.status, FileStatus::Deleted);
    assert_eq!((gone.added, gone.removed), (0, 2));

    assert_eq!(
        d.stat(),
        crate::domain::DiffStat {
            files: 6,
            added: 5,
            removed: 5
        }
    );
    assert_eq!(d.line_count(), 13);
}

#[test]
fn escape_sequences_never_survive_in_paths_or_lines() {
    let d = parse(SAMPLE.as_bytes());
    let f = &d.files[5];
    assert_eq!(f.path, "tést.txt", "quoted name decoded, ESC removed");
    let line = &f.hunks[0].lines[0].text;
    assert_eq!(line, "colour red and clip");
    for f in &d.files {
        for t in std::iter::once(&f.path)
            .chain(f.hunks.iter().map(|h| &h.header))
            .chain(f.hunks.iter().flat_map(|h| h.lines.iter().map(|l| &l.text)))
        {
            assert!(!t.chars().any(char::is_control), "{t:?}");
        }
    }
}

#[test]
fn numstat_reads_renames_and_binaries() {
    let out = b"3\t1\tsrc/a.rs\0-\t-\tlogo.png\x000\t0\t\0old.txt\0new.txt\0";
    let files = parse_numstat(out);
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].lines, Some((3, 1)));
    assert_eq!(files[1].lines, None);
    assert_eq!(files[2].display_path(), "old.txt → new.txt");
    assert_eq!(
        totals(&files),
        crate::domain::DiffStat {
            files: 3,
            added: 3,
            removed: 1
        }
    );
}

#[test]
fn a_cut_diff_still_parses_what_arrived() {
    let cut = &SAMPLE.as_bytes()[..200];
    let d = parse(cut);
    assert_eq!(d.files.len(), 1);
    assert!(d.files[0].added >= 1);
}

/// A real repository: a branch with a text change, a rename, a binary file and a mode change,
/// plus an uncommitted change that must not show.
#[test]
fn against_git_the_branch_is_compared_with_its_merge_base() {
    use crate::runner::git::git;
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    let w = |p: &str, c: &[u8]| std::fs::write(r.join(p), c).expect("write");
    let g = |args: &[&str]| {
        git(
            r,
            &[&["-c", "user.name=t", "-c", "user.email=t@e"], args].concat(),
        )
        .expect("git")
    };
    g(&["init", "-q", "-b", "main"]);
    w("a.txt", b"one\ntwo\n");
    w("move-me.txt", b"same content here\nand more\nand more\n");
    w("run.sh", b"echo hi\n");
    g(&["add", "."]);
    g(&["commit", "-qm", "base"]);
    g(&["checkout", "-qb", "feature"]);
    w("a.txt", b"one\nTWO\nthree\n");
    g(&["mv", "move-me.txt", "moved.txt"]);
    w("blob.bin", &[0, 1, 2, 0, 255, 0]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(r.join("run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    g(&["add", "."]);
    g(&["commit", "-qm", "work"]);
    // the base moves on: its change is not part of the issue's diff
    g(&["checkout", "-q", "main"]);
    w("base-only.txt", b"x\n");
    g(&["add", "."]);
    g(&["commit", "-qm", "later"]);
    w("a.txt", b"uncommitted\n");

    let t = DiffTarget {
        issue_id: 4,
        branch: Some("feature".into()),
        base: Some("main".into()),
    };
    let d = issue_diff(r, &t).expect("diff");
    let names: Vec<String> = d.files.iter().map(FileDiff::display_path).collect();
    assert_eq!(
        names,
        ["a.txt", "blob.bin", "move-me.txt → moved.txt", "run.sh"]
    );
    assert_eq!((d.files[0].added, d.files[0].removed), (2, 1));
    assert!(d.files[1].binary);
    assert_eq!(d.files[2].status, FileStatus::Renamed);
    assert_eq!(d.files[3].mode_change(), Some(("100644", "100755")));
    assert!(!d.truncated);

    let stat = issue_stat(r, &t).expect("stat");
    assert_eq!(totals(&stat), d.stat());

    let cut = diff_between(r, "main", "feature", 40).expect("cut");
    assert!(cut.truncated);

    let missing = |branch: Option<&str>, base: Option<&str>| {
        issue_diff(
            r,
            &DiffTarget {
                issue_id: 4,
                branch: branch.map(str::to_string),
                base: base.map(str::to_string),
            },
        )
        .expect_err("refused")
        .to_string()
    };
    assert_eq!(
        missing(None, Some("main")),
        "#4 has no branch yet: no run has started on it"
    );
    assert!(missing(Some("gone"), Some("main")).contains("its branch gone does not exist"));
    assert!(missing(Some("feature"), Some("old")).contains("its base branch old does not exist"));
}
