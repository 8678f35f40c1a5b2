//! Many runs' output in one transaction: a process running dozens of agents at a human pace
//! would otherwise commit every line on its own, and each commit costs far more than the line
//! (WAL frames, lock calls, every other connection re-reading the pages it made stale).

use super::runs::append_in;
use super::sql::{vals, Exec};
use super::{Result, Store, StoreError, TranscriptBatch};

/// One run's share of a shared transaction: its next transcript lines and what the run
/// learned since its last share.
#[derive(Debug, Default)]
pub struct Append {
    /// The run the lines belong to.
    pub run_id: i64,
    /// The transcript sequence number of the first line.
    pub first_seq: i64,
    /// The lines, one row per non-empty batch.
    pub batches: Vec<TranscriptBatch>,
    /// The agent's session id, when it just reported one.
    pub session: Option<String>,
    /// The run's cost estimate (USD), when it is due to be stored.
    pub estimate: Option<f64>,
}

/// Whether a run's share failed because of another writer (not because of the run itself).
fn conflicted(e: &StoreError) -> bool {
    match e {
        StoreError::Backend(e) => e.is_retryable(),
        StoreError::Sqlite(e) => super::is_busy(e),
        _ => false,
    }
}

impl Store {
    /// Makes this connection one that only appends output: it skips zeroing the pages it
    /// frees (`secure_delete`, kept on every other connection for the secret answers). Search
    /// index merges free many pages under a flood, and this connection never deletes a secret.
    pub fn for_output_only(&mut self) -> Result<()> {
        // PostgreSQL has no such setting (its free space is reused, not zeroed, either way).
        if let Some(c) = self.db().sqlite() {
            c.execute_batch("PRAGMA secure_delete = OFF")?;
        }
        Ok(())
    }

    /// Stores every append in one transaction, each under its own savepoint: a run whose row is
    /// gone (its issue deleted) fails alone and the others' lines still commit. The outer error
    /// is the transaction's (the database locked past the timeout); the inner ones are each
    /// run's, with the number of lines stored when it succeeded.
    pub fn append_transcripts(&mut self, appends: &[Append]) -> Result<Vec<Result<i64>>> {
        let red = std::sync::Arc::clone(&self.redactor);
        self.write(|tx| {
            let mut out = Vec::with_capacity(appends.len());
            for a in appends {
                tx.execute_batch("SAVEPOINT append")?;
                let one = (|| {
                    let lines = append_in(tx, &red, a.run_id, a.first_seq, &a.batches)?;
                    if let Some(sid) = &a.session {
                        tx.execute(
                            "UPDATE runs SET session_id = ?2 WHERE id = ?1",
                            vals![a.run_id, sid],
                        )?;
                    }
                    if let Some(usd) = a.estimate {
                        tx.execute(
                            "UPDATE runs SET estimate_usd = ?2 WHERE id = ?1 AND ended_at IS NULL",
                            vals![a.run_id, usd],
                        )?;
                    }
                    Ok(lines)
                })();
                let one = match one {
                    // Another writer's conflict fails the whole transaction, which is retried.
                    Err(e) if conflicted(&e) => return Err(e),
                    // PostgreSQL refuses every statement after a failed one until the savepoint
                    // is rolled back to: nothing else runs before it.
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO SAVEPOINT append")?;
                        Err(e)
                    }
                    ok => ok,
                };
                tx.execute_batch("RELEASE SAVEPOINT append")?;
                out.push(one);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::redact::Redactor;
    use crate::store::NewIssue;

    fn batch(lines: &[&str]) -> Vec<TranscriptBatch> {
        let mut b = TranscriptBatch::default();
        for l in lines {
            b.push(1, l.as_bytes());
        }
        vec![b]
    }

    #[test]
    fn one_transaction_stores_every_run_and_a_missing_run_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_with(&dir.path().join("a.db"), Redactor::builtin()).unwrap();
        let mut runs = Vec::new();
        for title in ["a", "b"] {
            let new = NewIssue {
                title: title.into(),
                ..NewIssue::default()
            };
            let issue = s.create_issue(&new, "me").unwrap();
            runs.push(s.start_run(issue.id, "agent", 0, "host").unwrap());
        }
        let appends = vec![
            Append {
                run_id: runs[0],
                batches: batch(&["one", "two"]),
                session: Some("sess-a".into()),
                estimate: Some(0.25),
                ..Append::default()
            },
            Append {
                run_id: 9_999,
                batches: batch(&["lost"]),
                ..Append::default()
            },
            Append {
                run_id: runs[1],
                first_seq: 5,
                batches: batch(&["three"]),
                ..Append::default()
            },
        ];
        let out = s.append_transcripts(&appends).unwrap();
        assert_eq!(out[0].as_ref().ok(), Some(&2));
        assert!(
            matches!(out[1], Err(crate::store::StoreError::RunNotFound(9_999))),
            "{:?}",
            out[1]
        );
        assert_eq!(out[2].as_ref().ok(), Some(&1));
        let a = s.transcript(runs[0], -1, 100).unwrap();
        let lines: Vec<_> = a.iter().map(|l| l.line.clone()).collect();
        assert_eq!(lines, vec![b"one".to_vec(), b"two".to_vec()]);
        let b = s.transcript(runs[1], -1, 100).unwrap();
        assert_eq!((b.len(), b[0].seq), (1, 5));
        let run = s.run(runs[0]).unwrap();
        assert_eq!(run.session_id.as_deref(), Some("sess-a"));
        assert_eq!(run.estimate_usd, Some(0.25));
    }
}
