//! Versioned migrations. Each entry moves `PRAGMA user_version` up by one.

/// The migrations, in order; index + 1 is the version each produces.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema
    r"
CREATE TABLE issues (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL CHECK (kind IN ('feature','bug','chore','feedback')),
    status        TEXT    NOT NULL CHECK (status IN ('backlog','ready','in_progress','blocked','in_review','done')),
    priority      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    lease_until   INTEGER,
    branch        TEXT,
    worktree      TEXT,
    base          TEXT,
    session_id    TEXT,
    interruptions INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX issues_claim ON issues (status, priority DESC, created_at, id);

CREATE TABLE issue_deps (
    issue_id   INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (issue_id, depends_on)
) WITHOUT ROWID;

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    author      TEXT    NOT NULL,
    author_kind TEXT    NOT NULL CHECK (author_kind IN ('human','agent','system')),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_issue ON comments (issue_id, id);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    issue_id     INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    agent_id     TEXT    NOT NULL,
    slot         INTEGER NOT NULL,
    owner_pid    INTEGER,
    session_id   TEXT,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    exit_code    INTEGER,
    outcome      TEXT,
    error        TEXT,
    cost_usd     REAL,
    turns        INTEGER,
    duration_ms  INTEGER,
    stderr_tail  TEXT
);
CREATE INDEX runs_issue ON runs (issue_id, id);
CREATE INDEX runs_open ON runs (ended_at) WHERE ended_at IS NULL;

CREATE TABLE transcript_lines (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    ts     INTEGER NOT NULL,
    line   BLOB    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    issue_id INTEGER,
    actor    TEXT    NOT NULL,
    data     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_issue ON events (issue_id, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
",
    // 2: crash recovery (which host and agent process a run has) and cross-process stops
    r"
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN agent_pid INTEGER;
ALTER TABLE issues ADD COLUMN stop_requested_by TEXT;
",
    // 3: transcripts stored as batches (one row per batch of lines, joined by newlines): a row
    // per line cost more than parsing the line, and agents can print a million lines
    r"
CREATE TABLE transcript_chunks (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    lines     INTEGER NOT NULL CHECK (lines > 0),
    ts        INTEGER NOT NULL,
    data      BLOB    NOT NULL
);
CREATE UNIQUE INDEX transcript_chunks_seq ON transcript_chunks (run_id, first_seq);
INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data)
    SELECT run_id, seq, 1, ts, line FROM transcript_lines ORDER BY run_id, seq;
DROP TABLE transcript_lines;
",
    // 4: issue counts per status, kept by triggers in the same transaction as every change, so
    // the board's column counts need not scan 100,000 index entries at each reload
    r"
CREATE TABLE status_counts (
    status TEXT    PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO status_counts (status, n) SELECT status, count(*) FROM issues GROUP BY status;
CREATE TRIGGER status_counts_insert AFTER INSERT ON issues BEGIN
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER status_counts_delete AFTER DELETE ON issues BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER status_counts_move AFTER UPDATE OF status ON issues
    WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
",
    // 5: the size of the change, taken once when a run moves the issue to review, so review
    // cards show `+N −M` without running git per card per reload
    r"
ALTER TABLE issues ADD COLUMN diff_files   INTEGER;
ALTER TABLE issues ADD COLUMN diff_added   INTEGER;
ALTER TABLE issues ADD COLUMN diff_removed INTEGER;
",
    // 6: what a run does (the agent implementing, a completion check, a reviewer)
    r"
ALTER TABLE runs ADD COLUMN role TEXT NOT NULL DEFAULT 'implement';
",
    // 7: what a run used: tokens by kind and the model, as the agent reported them
    r"
ALTER TABLE runs ADD COLUMN input_tokens       INTEGER;
ALTER TABLE runs ADD COLUMN output_tokens      INTEGER;
ALTER TABLE runs ADD COLUMN cache_read_tokens  INTEGER;
ALTER TABLE runs ADD COLUMN cache_write_tokens INTEGER;
ALTER TABLE runs ADD COLUMN model              TEXT;
",
    // 8: the model and effort an issue's runs use (NULL: the configured defaults)
    r"
ALTER TABLE issues ADD COLUMN model  TEXT;
ALTER TABLE issues ADD COLUMN effort TEXT;
",
    // 9: money: a running run's live cost estimate (replaced by the reported cost at its end) and
    // an issue's own spending cap (NULL: the configured `[budget] per_issue_usd`)
    r"
ALTER TABLE runs   ADD COLUMN estimate_usd REAL;
ALTER TABLE issues ADD COLUMN budget_usd   REAL;
",
    // 10: each model's share of a run, when the agent reported several (side calls often use a
    // smaller model), so spend per model is what each model cost
    r"
CREATE TABLE run_models (
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model              TEXT    NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_usd           REAL,
    PRIMARY KEY (run_id, model)
) WITHOUT ROWID;
",
    // 11: full-text search over titles, bodies, comments and transcripts. One FTS5 row per
    // searchable thing; its rowid is the source row's id × 4 + a tag (0 title, 1 body,
    // 2 comment, 3 transcript chunk), so a change finds its row without scanning. Issues and
    // comments are kept by triggers; a transcript chunk's rendered text is written by the
    // store next to the chunk (SQL cannot render JSON), and the existing transcripts are
    // indexed by the Rust step that follows this migration (`search::backfill`).
    r"
CREATE VIRTUAL TABLE search_index USING fts5(
    text, source UNINDEXED, issue_id UNINDEXED, run_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_index (rowid, text, source, issue_id)
    SELECT id * 4, title, 'title', id FROM issues;
INSERT INTO search_index (rowid, text, source, issue_id)
    SELECT id * 4 + 1, body, 'body', id FROM issues WHERE body <> '';
INSERT INTO search_index (rowid, text, source, issue_id)
    SELECT id * 4 + 2, body, 'comment', issue_id FROM comments;
CREATE TRIGGER search_issue_insert AFTER INSERT ON issues BEGIN
    INSERT INTO search_index (rowid, text, source, issue_id)
        VALUES (NEW.id * 4, NEW.title, 'title', NEW.id);
    INSERT INTO search_index (rowid, text, source, issue_id)
        SELECT NEW.id * 4 + 1, NEW.body, 'body', NEW.id WHERE NEW.body <> '';
END;
CREATE TRIGGER search_issue_title AFTER UPDATE OF title ON issues
    WHEN OLD.title IS NOT NEW.title BEGIN
    UPDATE search_index SET text = NEW.title WHERE rowid = NEW.id * 4;
END;
CREATE TRIGGER search_issue_body AFTER UPDATE OF body ON issues
    WHEN OLD.body IS NOT NEW.body BEGIN
    DELETE FROM search_index WHERE rowid = NEW.id * 4 + 1;
    INSERT INTO search_index (rowid, text, source, issue_id)
        SELECT NEW.id * 4 + 1, NEW.body, 'body', NEW.id WHERE NEW.body <> '';
END;
CREATE TRIGGER search_issue_delete AFTER DELETE ON issues BEGIN
    DELETE FROM search_index WHERE rowid IN (OLD.id * 4, OLD.id * 4 + 1);
END;
CREATE TRIGGER search_comment_insert AFTER INSERT ON comments BEGIN
    INSERT INTO search_index (rowid, text, source, issue_id)
        VALUES (NEW.id * 4 + 2, NEW.body, 'comment', NEW.issue_id);
END;
CREATE TRIGGER search_comment_body AFTER UPDATE OF body ON comments
    WHEN OLD.body IS NOT NEW.body BEGIN
    UPDATE search_index SET text = NEW.body WHERE rowid = NEW.id * 4 + 2;
END;
CREATE TRIGGER search_comment_delete AFTER DELETE ON comments BEGIN
    DELETE FROM search_index WHERE rowid = OLD.id * 4 + 2;
END;
CREATE TRIGGER search_chunk_delete AFTER DELETE ON transcript_chunks BEGIN
    DELETE FROM search_index WHERE rowid = OLD.id * 4 + 3;
END;
",
    // 12: subtasks: an issue's parent (at most one); a deleted parent leaves its children
    r"
ALTER TABLE issues ADD COLUMN parent_id INTEGER REFERENCES issues(id) ON DELETE SET NULL;
CREATE INDEX issues_parent ON issues (parent_id) WHERE parent_id IS NOT NULL;
",
    // 13: archiving: an archived issue (a done one put away) keeps its row, its thread and its
    // runs but leaves the board, so the column counts the triggers keep leave it out too
    r"
ALTER TABLE issues ADD COLUMN archived_at INTEGER;
CREATE INDEX issues_board ON issues (status, priority DESC, created_at, id) WHERE archived_at IS NULL;
DROP TRIGGER status_counts_insert;
DROP TRIGGER status_counts_delete;
DROP TRIGGER status_counts_move;
CREATE TRIGGER status_counts_insert AFTER INSERT ON issues WHEN NEW.archived_at IS NULL BEGIN
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER status_counts_delete AFTER DELETE ON issues WHEN OLD.archived_at IS NULL BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER status_counts_move AFTER UPDATE OF status, archived_at ON issues
    WHEN OLD.status IS NOT NEW.status
      OR (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL) BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status AND OLD.archived_at IS NULL;
    INSERT INTO status_counts (status, n) SELECT NEW.status, 1 WHERE NEW.archived_at IS NULL
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
",
    // 14: who claimed an issue (process and machine), so a runner killed after its claim but
    // before its run's row existed (while it made the worktree) is found like one killed later
    r"
ALTER TABLE issues ADD COLUMN claim_pid  INTEGER;
ALTER TABLE issues ADD COLUMN claim_host TEXT;
",
    // 15: who an issue is assigned to (a person's name, set by hand or over the HTTP API)
    r"
ALTER TABLE issues ADD COLUMN assignee TEXT;
",
    // 16: GitHub and agents: where an issue was imported from (one local issue per source),
    // the pull request its branch went to, and the agent its runs use (NULL: [agent] kind)
    r"
ALTER TABLE issues ADD COLUMN source_url TEXT;
ALTER TABLE issues ADD COLUMN pr_url     TEXT;
ALTER TABLE issues ADD COLUMN agent      TEXT;
CREATE UNIQUE INDEX issues_source_url ON issues (source_url) WHERE source_url IS NOT NULL;
",
    // 17 (issue 17 §5, time): not claimed before `not_before` (epoch ms); `every_ms`: when done,
    // a copy is queued for the next occurrence, linked to it by `previous_id`. The index finds
    // the earliest scheduled ready issue, which a runner's idle nap waits for.
    r"
ALTER TABLE issues ADD COLUMN not_before  INTEGER;
ALTER TABLE issues ADD COLUMN every_ms    INTEGER;
ALTER TABLE issues ADD COLUMN previous_id INTEGER REFERENCES issues(id) ON DELETE SET NULL;
CREATE INDEX issues_not_before ON issues (not_before) WHERE status = 'ready' AND not_before IS NOT NULL;
",
    // 18: prompt templates: the one an issue asks for (NULL: [templates] by kind, then default)
    // and the one each run's prompt carried (NULL: none)
    r"
ALTER TABLE issues ADD COLUMN template TEXT;
ALTER TABLE runs   ADD COLUMN template TEXT;
",
    // 19: why a run failed (api_error, crash, stalled, …: `FailureClass`), for retries and stats
    r"
ALTER TABLE runs ADD COLUMN failure TEXT;
",
    // 20 (issue 17 §3): learnings: the `LEARNED:` lines of a run's result, kept for later
    // prompts; `learnings_index` (FTS5, the text only) finds the ones an issue's words match
    r"
CREATE TABLE learnings (
    id         INTEGER PRIMARY KEY,
    text       TEXT    NOT NULL,
    issue_id   INTEGER REFERENCES issues(id) ON DELETE SET NULL,
    run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE VIRTUAL TABLE learnings_index USING fts5(
    text, content = 'learnings', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER learnings_index_insert AFTER INSERT ON learnings BEGIN
    INSERT INTO learnings_index (rowid, text) VALUES (NEW.id, NEW.text);
END;
CREATE TRIGGER learnings_index_delete AFTER DELETE ON learnings BEGIN
    INSERT INTO learnings_index (learnings_index, rowid, text) VALUES ('delete', OLD.id, OLD.text);
END;
CREATE TRIGGER learnings_index_update AFTER UPDATE OF text ON learnings BEGIN
    INSERT INTO learnings_index (learnings_index, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    INSERT INTO learnings_index (rowid, text) VALUES (NEW.id, NEW.text);
END;
",
    // 21 (issue 17 §4, structured questions): the fields a blocked issue's question asks for
    // (`NEEDS:` lines, JSON), and the secret answers waiting for the next claim, which deletes
    // them in its transaction (as do archiving and deleting the issue). Secrets are in no
    // comment, event or transcript; `secure_delete` (set on every connection) zeroes them.
    r"
CREATE TABLE needs (
    issue_id INTEGER PRIMARY KEY REFERENCES issues(id) ON DELETE CASCADE,
    fields   TEXT NOT NULL
);
CREATE TABLE pending_secrets (
    issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (issue_id, name)
) WITHOUT ROWID;
CREATE TRIGGER pending_secrets_archived AFTER UPDATE OF archived_at ON issues
    WHEN NEW.archived_at IS NOT NULL BEGIN
    DELETE FROM pending_secrets WHERE issue_id = NEW.id;
END;
",
];

/// The migration after whose SQL [`super::search::backfill`] indexes the stored transcripts, in
/// the same transaction.
pub(super) const SEARCH_INDEX_VERSION: usize = 11;
