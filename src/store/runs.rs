//! Runs and their transcripts.

#[path = "runs_batch.rs"]
mod batch;

use std::collections::HashMap;

use super::comments::insert_comment;
use super::issues::{get, set_status};
use super::sql::{vals, Backend, Exec, Row, SqlError};
use super::tail::chunk_bytes;
use super::{events, now, search, Result, Store, StoreError};
use crate::domain::{
    Actor, ActorId, AuthorKind, DiffStat, EventKind, FailureClass, Issue, Millis, Run, RunOutcome,
    RunRole, RunUsage, Status,
};
pub use batch::{TranscriptBatch, TranscriptLine};

/// How a run ended and what it does to its issue, committed as one transaction.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    /// The outcome.
    pub outcome: Option<RunOutcome>,
    /// Agent exit status.
    pub exit_code: Option<i64>,
    /// Error text for failures.
    pub error: Option<String>,
    /// Reported cost.
    pub cost_usd: Option<f64>,
    /// Reported turns.
    pub turns: Option<i64>,
    /// Reported duration.
    pub duration_ms: Option<i64>,
    /// Tokens and model the agent reported.
    pub usage: Option<Box<RunUsage>>,
    /// Agent session, kept for the next run's resume.
    pub session_id: Option<String>,
    /// The last lines the agent wrote to stderr.
    pub stderr_tail: Option<String>,
    /// Where the issue goes, and who moves it.
    pub move_to: Option<(Status, Actor)>,
    /// Comments to add: author, kind, text.
    pub comments: Vec<(String, AuthorKind, String)>,
    /// The size of the branch's change, stored on the issue when it moves to review.
    pub diff: Option<DiffStat>,
    /// The pull request the branch was pushed to, stored on the issue when it moves to review.
    pub pr_url: Option<String>,
    /// Why the run failed, when it did.
    pub failure: Option<FailureClass>,
    /// The fields a blocked run's question asks for (`NEEDS:` lines), stored with the move.
    pub needs: Vec<crate::domain::needs::Need>,
}

impl RunEnd {
    /// A run that ended with `outcome` for the reason `why`, touching nothing else.
    pub fn ended(outcome: RunOutcome, why: String) -> RunEnd {
        RunEnd {
            outcome: Some(outcome),
            error: Some(why),
            ..RunEnd::default()
        }
    }
}

/// What a card in review says about the checking of its latest change: how its newest check
/// and its newest reviewer run ended, counting only those after the newest implementing run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewMarks {
    /// The last check's outcome (`passed` only when every check passed).
    pub checks: Option<RunOutcome>,
    /// The reviewer's outcome (`approved`, `changes_requested`, `failed`, …).
    pub review: Option<RunOutcome>,
}

const RUN_COLS: &str =
    "r.id, r.issue_id, r.agent_id, r.slot, r.owner_pid, r.session_id, r.started_at, \
     r.ended_at, r.exit_code, r.outcome, r.error, r.cost_usd, r.turns, r.duration_ms, \
     (SELECT CAST(coalesce(sum(t.lines), 0) AS BIGINT) FROM transcript_chunks t WHERE t.run_id = r.id), r.role, \
     r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.model, r.estimate_usd, r.template, \
     r.failure, r.persona";

fn run_from_row(r: &Row) -> Result<Run, SqlError> {
    let id: i64 = r.get(0)?;
    let outcome: Option<String> = r.get(9)?;
    let role: String = r.get(15)?;
    let failure: Option<String> = r.get(23)?;
    Ok(Run {
        id,
        issue_id: r.get(1)?,
        agent_id: r.get(2)?,
        slot: r.get(3)?,
        // Rows are written by this program only; an unknown role reads as the agent's work.
        role: role.parse().unwrap_or(RunRole::Implement),
        owner_pid: r.get(4)?,
        session_id: r.get(5)?,
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        exit_code: r.get(8)?,
        outcome: outcome.and_then(|o| o.parse().ok()),
        error: r.get(10)?,
        cost_usd: r.get(11)?,
        estimate_usd: r.get(21)?,
        turns: r.get(12)?,
        duration_ms: r.get(13)?,
        input_tokens: r.get(16)?,
        output_tokens: r.get(17)?,
        cache_read_tokens: r.get(18)?,
        cache_write_tokens: r.get(19)?,
        model: r.get(20)?,
        template: r.get(22)?,
        failure: failure.and_then(|f| f.parse().ok()),
        persona: r.get(24)?,
        transcript_lines: r.get(14)?,
        transcript: format!("db:runs/{id}"),
    })
}

impl Store {
    /// Opens a run for an issue this agent has claimed, owned by this process on `host`
    /// (what crash recovery later checks).
    pub fn start_run(
        &mut self,
        issue_id: i64,
        agent_id: &str,
        slot: i64,
        host: &str,
    ) -> Result<i64> {
        self.start_run_as(issue_id, agent_id, slot, host, RunRole::Implement)
    }

    /// Opens a run of `role` (a check, a review) for an issue this agent has claimed.
    pub fn start_run_as(
        &mut self,
        issue_id: i64,
        agent_id: &str,
        slot: i64,
        host: &str,
        role: RunRole,
    ) -> Result<i64> {
        let pid = i64::from(std::process::id());
        let by = ActorId::agent(agent_id);
        self.write(|tx| {
            let run_id: i64 = tx.query_row(
                "INSERT INTO runs (issue_id, agent_id, slot, owner_pid, owner_host, started_at, role)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                vals![issue_id, agent_id, slot, pid, host, now(), role.as_str()],
                |r| r.get(0),
            )?;
            let kind = EventKind::RunStarted { run_id, slot, pid };
            events::insert(tx, Some(issue_id), &by, &kind)?;
            Ok(run_id)
        })
    }

    /// Records the custom persona a run of role `persona` is (for `show` and the run list).
    pub fn set_run_persona(&mut self, run_id: i64, persona: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET persona = ?2 WHERE id = ?1",
                vals![run_id, persona],
            )?;
            Ok(())
        })
    }

    /// Records the prompt template the run's prompt carries (for `show` and `stats`).
    pub fn set_run_template(&mut self, run_id: i64, template: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET template = ?2 WHERE id = ?1",
                vals![run_id, template],
            )?;
            Ok(())
        })
    }

    /// Records the agent's process (group) id, so a crash recovery can find orphans.
    pub fn set_run_agent_pid(&mut self, run_id: i64, pid: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET agent_pid = ?2 WHERE id = ?1",
                vals![run_id, pid],
            )?;
            Ok(())
        })
    }

    /// Records the agent's session id as soon as it is known.
    pub fn set_run_session(&mut self, run_id: i64, session_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET session_id = ?2 WHERE id = ?1",
                vals![run_id, session_id],
            )?;
            Ok(())
        })
    }

    /// Appends batches of transcript lines, numbered on from `first_seq`, in one transaction
    /// (one row per batch). Returns the number of lines stored.
    pub fn append_transcript(
        &mut self,
        run_id: i64,
        first_seq: i64,
        batches: &[TranscriptBatch],
    ) -> Result<i64> {
        if batches.iter().all(TranscriptBatch::is_empty) {
            return Ok(0);
        }
        let red = std::sync::Arc::clone(&self.redactor);
        self.write(|tx| append_in(tx, &red, run_id, first_seq, batches))
    }

    /// Closes a run and applies its effect on the issue (comments, move) atomically.
    /// The move happens only while the issue is still this agent's claim; the returned
    /// flag says whether it did.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        agent_id: &str,
        end: &RunEnd,
    ) -> Result<(Issue, bool)> {
        let red = std::sync::Arc::clone(&self.redactor);
        // The error and stderr carry the agent's words too.
        let error = end.error.as_deref().map(|e| red.text(e).into_owned());
        let stderr_tail = end.stderr_tail.as_deref().map(|t| red.text(t).into_owned());
        let by = ActorId::agent(agent_id);
        let tokens = end.usage.as_ref().and_then(|u| u.tokens);
        let model = end.usage.as_ref().and_then(|u| u.model.as_deref());
        let model = model.map(|m| red.text(m).into_owned());
        self.write(|tx| {
            let issue_id: i64 = tx
                .query_opt("SELECT issue_id FROM runs WHERE id = ?1", vals![run_id], |r| r.get(0))?
                .ok_or(StoreError::RunNotFound(run_id))?;
            let outcome = end.outcome.map(RunOutcome::as_str);
            tx.execute(
                "UPDATE runs SET ended_at = ?2, exit_code = ?3, outcome = ?4, error = ?5, cost_usd = ?6,
                     turns = ?7, duration_ms = ?8, session_id = coalesce(?9, session_id), stderr_tail = ?10,
                     input_tokens = ?11, output_tokens = ?12, cache_read_tokens = ?13,
                     cache_write_tokens = ?14, model = ?15, failure = ?16
                 WHERE id = ?1",
                vals![
                    run_id,
                    now(),
                    end.exit_code,
                    outcome,
                    error.as_deref(),
                    end.cost_usd,
                    end.turns,
                    end.duration_ms,
                    end.session_id.as_deref(),
                    stderr_tail.as_deref(),
                    tokens.map(|t| t.input),
                    tokens.map(|t| t.output),
                    tokens.map(|t| t.cache_read),
                    tokens.map(|t| t.cache_write),
                    model.as_deref(),
                    end.failure.map(FailureClass::as_str),
                ],
            )?;
            for share in end.usage.iter().flat_map(|u| &u.by_model) {
                let t = share.tokens;
                tx.execute(
                    "INSERT INTO run_models (run_id, model, input_tokens, output_tokens,
                         cache_read_tokens, cache_write_tokens, cost_usd)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (run_id, model) DO UPDATE SET input_tokens = excluded.input_tokens,
                         output_tokens = excluded.output_tokens,
                         cache_read_tokens = excluded.cache_read_tokens,
                         cache_write_tokens = excluded.cache_write_tokens,
                         cost_usd = excluded.cost_usd",
                    vals![
                        run_id,
                        red.text(&share.model).into_owned(),
                        t.input,
                        t.output,
                        t.cache_read,
                        t.cache_write,
                        share.cost_usd
                    ],
                )?;
            }
            if let Some(sid) = &end.session_id {
                tx.execute(
                    "UPDATE issues SET session_id = ?2 WHERE id = ?1",
                    vals![issue_id, sid],
                )?;
            }
            let kind = EventKind::RunFinished {
                run_id,
                outcome: end.outcome,
                exit_code: end.exit_code,
                cost_usd: end.cost_usd,
                turns: end.turns,
            };
            events::insert(tx, Some(issue_id), &by, &kind)?;
            let issue = get(tx, issue_id)?;
            let ours = issue.status == Status::InProgress && issue.claimed_by.as_deref() == Some(agent_id);
            for (author, kind, body) in &end.comments {
                insert_comment(tx, &red, issue_id, author, *kind, body)?;
            }
            if let (true, Some((to, actor))) = (ours, end.move_to) {
                set_status(tx, &issue, to, actor, agent_id)?;
                if to == Status::Blocked {
                    super::needs::set(tx, issue_id, &end.needs)?;
                }
                if to == Status::InReview {
                    tx.execute("UPDATE issues SET interruptions = 0 WHERE id = ?1", vals![issue_id])?;
                    let d = end.diff;
                    tx.execute(
                        "UPDATE issues SET diff_files = ?2, diff_added = ?3, diff_removed = ?4 WHERE id = ?1",
                        vals![issue_id, d.map(|d| d.files), d.map(|d| d.added), d.map(|d| d.removed)],
                    )?;
                    if let Some(url) = &end.pr_url {
                        tx.execute("UPDATE issues SET pr_url = ?2 WHERE id = ?1", vals![issue_id, url])?;
                    }
                }
            }
            Ok((get(tx, issue_id)?, ours))
        })
    }

    /// One run.
    pub fn run(&self, run_id: i64) -> Result<Run> {
        self.db()
            .query_opt(
                &format!("SELECT {RUN_COLS} FROM runs r WHERE r.id = ?1"),
                vals![run_id],
                run_from_row,
            )?
            .ok_or(StoreError::RunNotFound(run_id))
    }

    /// An issue's runs, oldest first.
    pub fn runs(&self, issue_id: i64) -> Result<Vec<Run>> {
        Ok(self.db().query_map(
            &format!("SELECT {RUN_COLS} FROM runs r WHERE r.issue_id = ?1 ORDER BY r.id"),
            vals![issue_id],
            run_from_row,
        )?)
    }

    /// Runs still open (no end recorded), oldest first.
    pub fn open_runs(&self) -> Result<Vec<Run>> {
        Ok(self.db().query_map(
            &format!("SELECT {RUN_COLS} FROM runs r WHERE r.ended_at IS NULL ORDER BY r.id"),
            &[],
            run_from_row,
        )?)
    }

    /// Transcript lines of a run after `after_seq` (use -1 for all), at most `limit`.
    pub fn transcript(
        &self,
        run_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<TranscriptLine>> {
        // Start at the batch holding the first wanted line, then read batches in order: every
        // batch holds a line at least, so `limit` lines are in the first `limit + 1` batches.
        let rows = self.db().query(
            "SELECT first_seq, ts, data FROM transcript_chunks WHERE run_id = ?1 AND first_seq >=
               (SELECT coalesce(max(first_seq), 0) FROM transcript_chunks
                 WHERE run_id = ?1 AND first_seq <= CAST(?2 AS BIGINT) + 1)
             ORDER BY first_seq LIMIT ?3",
            vals![run_id, after_seq, limit.max(0).saturating_add(1)],
        )?;
        let limit = usize::try_from(limit).unwrap_or(0);
        let mut out = Vec::new();
        for row in &rows {
            if out.len() >= limit {
                break;
            }
            let (first, ts): (i64, Millis) = (row.get(0)?, row.get(1)?);
            let data = chunk_bytes(row.get(2)?);
            for (seq, line) in (first..).zip(data.split(|b| *b == b'\n')) {
                if seq > after_seq && out.len() < limit {
                    out.push(TranscriptLine {
                        seq,
                        ts,
                        line: line.to_vec(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// [`ReviewMarks`] of many issues in one query (the review cards of a board window), by
    /// issue id; issues without checks or reviews since their last implementing run are absent.
    pub fn review_marks(&self, ids: &[i64]) -> Result<HashMap<i64, ReviewMarks>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Each issue's runs are walked backwards along runs_issue, as last_comments does.
        // The ids travel as one JSON array (one statement, whatever their number).
        let from = match self.db().backend() {
            Backend::Sqlite => "json_each(?1) AS j",
            Backend::Postgres => {
                "(SELECT CAST(value AS BIGINT) AS value
                  FROM jsonb_array_elements_text(CAST(?1 AS TEXT)::jsonb)) AS j"
            }
        };
        let sql = format!(
            "SELECT j.value,
                 (SELECT r.outcome FROM runs r WHERE r.issue_id = j.value AND r.role = 'check'
                     AND r.id > coalesce((SELECT max(i.id) FROM runs i
                         WHERE i.issue_id = j.value AND i.role = 'implement'), 0)
                     ORDER BY r.id DESC LIMIT 1),
                 (SELECT r.outcome FROM runs r WHERE r.issue_id = j.value AND r.role = 'review'
                     AND r.id > coalesce((SELECT max(i.id) FROM runs i
                         WHERE i.issue_id = j.value AND i.role = 'implement'), 0)
                     ORDER BY r.id DESC LIMIT 1)
             FROM {from}"
        );
        let ids = serde_json::to_string(ids)?;
        let rows = self.db().query_map(&sql, vals![ids], |r| {
            let parse = |o: Option<String>| o.and_then(|o| o.parse::<RunOutcome>().ok());
            Ok((
                r.get::<i64>(0)?,
                ReviewMarks {
                    checks: parse(r.get(1)?),
                    review: parse(r.get(2)?),
                },
            ))
        })?;
        let mut marks = HashMap::new();
        for (id, m) in rows {
            if m != ReviewMarks::default() {
                marks.insert(id, m);
            }
        }
        Ok(marks)
    }

    /// The stderr tail kept for a run.
    pub fn run_stderr(&self, run_id: i64) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_opt(
                "SELECT stderr_tail FROM runs WHERE id = ?1",
                vals![run_id],
                |r| r.get(0),
            )?
            .flatten())
    }
}

/// Inserts `batches` as rows of `run_id`'s transcript numbered on from `first_seq`, each with
/// its searchable text, inside `tx`. Returns the number of lines stored.
pub(super) fn append_in(
    tx: &impl Exec,
    red: &crate::domain::redact::Redactor,
    run_id: i64,
    first_seq: i64,
    batches: &[TranscriptBatch],
) -> Result<i64> {
    let issue_id: i64 = tx
        .query_opt(
            "SELECT issue_id FROM runs WHERE id = ?1",
            vals![run_id],
            |r| r.get(0),
        )?
        .ok_or(StoreError::RunNotFound(run_id))?;
    let mut seq = first_seq;
    for b in batches.iter().filter(|b| !b.is_empty()) {
        let chunk_id: i64 = tx.query_row(
            "INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            vals![run_id, seq, b.lines, b.ts, b.data.as_slice()],
            |r| r.get(0),
        )?;
        // The chunk's searchable text commits with it.
        search::index_chunk(
            tx,
            red,
            (chunk_id, &b.data, b.text.as_deref()),
            issue_id,
            run_id,
        )?;
        seq += b.lines;
    }
    Ok(seq - first_seq)
}
