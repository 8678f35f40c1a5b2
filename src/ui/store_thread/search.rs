//! The search overlay's reads: the hits of a query, and a transcript opened at the line of a
//! hit (the index knows the chunk, not the line: the line is found by its matched word).

use super::{transcript, StoreReply};
use crate::domain::sanitize::{one_line, strip_all};
use crate::runner::agent::Adapter;
use crate::runner::PaneLine;
use crate::store::{Result as StoreResult, SearchHit, SearchSource, Store};

/// One hit as the overlay shows it; every text is printable and on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    /// The issue it belongs to.
    pub issue_id: i64,
    /// Where in the issue.
    pub source: SearchSource,
    /// The run, for a transcript hit.
    pub run_id: Option<i64>,
    /// The snippet in pieces, each with whether it is a match.
    pub parts: Vec<(String, bool)>,
}

impl SearchRow {
    /// The first matched piece: what a transcript is searched for to find the hit's line.
    pub fn term(&self) -> Option<&str> {
        self.parts
            .iter()
            .find(|(t, m)| *m && !t.trim().is_empty())
            .map(|(t, _)| t.trim())
    }

    /// Where, in words: `title`, `comment`, `transcript of run 3`.
    pub fn where_text(&self) -> String {
        match (self.source, self.run_id) {
            (SearchSource::Title, _) => "title".into(),
            (SearchSource::Body, _) => "body".into(),
            (SearchSource::Comment, _) => "comment".into(),
            (SearchSource::Transcript, Some(run)) => format!("transcript of run {run}"),
            (SearchSource::Transcript, None) => "transcript".into(),
        }
    }
}

impl From<SearchHit> for SearchRow {
    /// The hit made printable, each piece on one line: the store already cleaned the pieces,
    /// but they are agent text, so they are cleaned here again on their way to the screen.
    fn from(h: SearchHit) -> SearchRow {
        SearchRow {
            issue_id: h.issue_id,
            source: h.source,
            run_id: h.run_id,
            parts: h.parts.iter().map(|(t, m)| (flat(t), *m)).collect(),
        }
    }
}

/// `text` printable on one line; the spaces around a match stay.
fn flat(text: &str) -> String {
    strip_all(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The best `limit` hits of `query`, or the store's message for a query it cannot read.
pub(super) fn search(store: &Store, gen: u64, query: &str, limit: i64) -> StoreReply {
    let result = store
        .search(query, limit)
        .map(|hits| hits.into_iter().map(SearchRow::from).collect())
        .map_err(|e| one_line(&e.to_string()));
    StoreReply::Search { gen, result }
}

/// A run's transcript, with the first shown line holding `term` (case-insensitive).
pub(super) fn transcript_at(
    store: &Store,
    run_id: i64,
    term: &str,
    renderer: &dyn Adapter,
) -> StoreResult<StoreReply> {
    let StoreReply::Transcript { run_id, lines } = transcript(store, run_id, renderer)? else {
        return Err(crate::store::StoreError::RunNotFound(run_id));
    };
    let at = line_of(&lines, term);
    Ok(StoreReply::TranscriptAt { run_id, lines, at })
}

/// The first line holding `term`, else its first word (a phrase may break across lines).
pub fn line_of(lines: &[PaneLine], term: &str) -> Option<usize> {
    let find = |needle: &str| {
        let needle = needle.to_lowercase();
        if needle.is_empty() {
            return None;
        }
        lines
            .iter()
            .position(|l| one_line(&l.text).to_lowercase().contains(&needle))
    };
    find(term).or_else(|| find(term.split_whitespace().next()?))
}

#[cfg(test)]
mod tests {
    use super::super::{handle, same_read, StoreRequest};
    use super::*;
    use crate::domain::AuthorKind;
    use crate::runner::agent::renderer;
    use crate::runner::LineKind;
    use crate::store::{NewIssue, TranscriptBatch};

    fn line(text: &str) -> PaneLine {
        PaneLine {
            kind: LineKind::Text,
            text: text.into(),
        }
    }

    #[test]
    fn the_hit_line_is_found_ignoring_case_and_colours() {
        let lines = [
            line("nothing here"),
            line("\u{1b}[1mGrep\u{1b}[0m found Zanzibar"),
            line("zanzibar again"),
        ];
        assert_eq!(line_of(&lines, "zanzibar"), Some(1));
        assert_eq!(line_of(&lines, "zanzibar notes"), Some(1), "first word");
        assert_eq!(line_of(&lines, "absent"), None);
        assert_eq!(line_of(&lines, ""), None);
    }

    #[test]
    fn a_search_request_answers_with_hits_and_a_bad_query_with_its_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("a.db")).expect("open");
        let new = NewIssue {
            title: "Fix the \u{1b}]0;pwned\u{7} wombat parser".into(),
            ..NewIssue::default()
        };
        let id = store.create_issue(&new, "me").expect("add").id;
        store
            .add_comment(id, "me", AuthorKind::Human, "the wombat again")
            .expect("comment");
        let r = renderer(None);
        let req = StoreRequest::Search {
            gen: 4,
            query: "wombat".into(),
            limit: 10,
        };
        let (reply, wrote) = handle(&mut store, &req, "me", r.as_ref());
        assert!(!wrote);
        let Some(StoreReply::Search { gen, result }) = reply else {
            panic!("not a search reply: {reply:?}");
        };
        assert_eq!(gen, 4);
        let rows = result.expect("hits");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|h| h.issue_id == id && h.run_id.is_none()));
        let title = rows
            .iter()
            .find(|h| h.source == SearchSource::Title)
            .expect("a title hit");
        assert_eq!(title.term(), Some("wombat"));
        assert!(
            title.parts.iter().all(|(t, _)| !t.contains('\u{1b}')),
            "{title:?}"
        );

        let bad = StoreRequest::Search {
            gen: 5,
            query: "\"unbalanced".into(),
            limit: 10,
        };
        let (reply, _) = handle(&mut store, &bad, "me", r.as_ref());
        let Some(StoreReply::Search {
            gen: 5,
            result: Err(e),
        }) = reply
        else {
            panic!("not an error: {reply:?}");
        };
        assert!(e.contains("cannot read the search query"), "{e}");
    }

    #[test]
    fn a_search_superseded_in_its_batch_is_not_run() {
        let q = |gen, query: &str| StoreRequest::Search {
            gen,
            query: query.into(),
            limit: 50,
        };
        assert!(same_read(&q(1, "wom"), &q(2, "wombat")));
        assert!(!same_read(&q(1, "wom"), &StoreRequest::Stats));
    }

    #[test]
    fn a_transcript_opens_at_the_line_of_the_hit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("a.db")).expect("open");
        let new = NewIssue {
            title: "t".into(),
            ready: true,
            ..NewIssue::default()
        };
        let id = store.create_issue(&new, "me").expect("add").id;
        store.claim_next("a", 60_000).expect("claim").expect("one");
        let run = store.start_run(id, "a", 0, "host").expect("run");
        let mut batch = TranscriptBatch::default();
        for t in ["one", "two", "three has Quokka", "four quokka"] {
            batch.push(1, t.as_bytes());
        }
        store.append_transcript(run, 0, &[batch]).expect("append");
        let r = renderer(None);
        let req = StoreRequest::TranscriptAt {
            run_id: run,
            term: "quokka".into(),
        };
        let (reply, _) = handle(&mut store, &req, "me", r.as_ref());
        let Some(StoreReply::TranscriptAt { run_id, lines, at }) = reply else {
            panic!("not a transcript: {reply:?}");
        };
        assert_eq!(run_id, run);
        let at = at.expect("found");
        assert!(lines[at].text.contains("three has Quokka"), "{lines:?}");
    }
}
