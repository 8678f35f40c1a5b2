use jiff::tz::TimeZone;

use super::super::sql::{vals, Exec};
use super::super::{Caps, IssueEdit, NewIssue, RunEnd, Store};
use crate::domain::{clock, now_millis, Actor, Status};

fn store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn ready(store: &mut Store, title: &str) -> i64 {
    let new = NewIssue {
        title: title.into(),
        ready: true,
        ..NewIssue::default()
    };
    store.create_issue(&new, "me").unwrap().id
}

/// A finished run on `id` that cost `usd`.
fn spend(store: &mut Store, id: i64, usd: f64) {
    let run = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        cost_usd: Some(usd),
        ..RunEnd::default()
    };
    store.finish_run(run, "a-1", &end).unwrap();
}

fn daily(usd: f64) -> Caps {
    Caps {
        daily_usd: Some(usd),
        ..Caps::default()
    }
}

fn held_events(store: &Store) -> i64 {
    store
        .db()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'queue.held'",
            &[],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn the_daily_cap_holds_every_claim_until_midnight_and_resume_lifts_it_for_the_day() {
    let (_dir, mut store) = store();
    let first = ready(&mut store, "first");
    let second = ready(&mut store, "second");
    let claim = store.claim_within("a-1", 60_000, &daily(1.0)).unwrap();
    assert_eq!(claim.issue.map(|i| i.id), Some(first));
    spend(&mut store, first, 1.25);

    let claim = store.claim_within("b-1", 60_000, &daily(1.0)).unwrap();
    assert!(claim.issue.is_none());
    let hold = claim.daily.expect("the daily cap refused the claim");
    let midnight = clock::next_midnight(now_millis(), &TimeZone::UTC).unwrap();
    assert_eq!((hold.spent, hold.cap, hold.until), (1.25, 1.0, midnight));
    let state = store.pause_state().unwrap();
    assert_eq!(state.until, Some(midnight));
    assert_eq!(
        state.reason.as_deref(),
        Some("daily budget $1.00 reached: $1.25 spent today; claiming resumes at local midnight (00:00) or on `resume`")
    );
    // The hold stops even a runner with no cap configured, and is written once.
    assert!(store.claim_next("c-1", 60_000).unwrap().is_none());
    store.claim_within("b-1", 60_000, &daily(1.0)).unwrap();
    assert_eq!(held_events(&store), 1);
    assert_eq!(store.issue(second).unwrap().status, Status::Ready);
    // It lifts by itself at the next local midnight.
    assert_eq!(store.pause_state_at(midnight).unwrap().until, None);

    // `resume` lifts it for the rest of the day on purpose.
    store.set_paused(false, Actor::Human, "me").unwrap();
    let claim = store.claim_within("b-1", 60_000, &daily(1.0)).unwrap();
    assert_eq!(claim.issue.map(|i| i.id), Some(second));
    assert!(claim.daily.is_none());
    let zone = TimeZone::UTC;
    assert_eq!(
        store
            .check_daily_budget(1.0, midnight - 1, &zone, "b-1")
            .unwrap(),
        None,
        "still lifted at the end of the day"
    );
    // The next day the cap applies again (yesterday's spend no longer counts; today's does).
    assert_eq!(
        store
            .check_daily_budget(1.0, midnight, &zone, "b-1")
            .unwrap(),
        None
    );
    spend(&mut store, second, 2.0);
    let hold = store
        .check_daily_budget(1.0, now_millis(), &zone, "b-1")
        .unwrap();
    assert_eq!(hold, None, "today is still lifted");
    let tomorrow_noon = midnight + 12 * 3_600_000;
    let runs_ended_tomorrow = store.db().execute(
        "UPDATE runs SET ended_at = ?1 WHERE issue_id = ?2",
        vals![tomorrow_noon, second],
    );
    assert_eq!(runs_ended_tomorrow.unwrap(), 1);
    let hold = store
        .check_daily_budget(1.0, tomorrow_noon, &zone, "b-1")
        .unwrap()
        .expect("tomorrow the cap holds again");
    assert_eq!(hold.until, midnight + 24 * 3_600_000);
}

#[test]
fn a_rate_limit_hold_is_not_a_budget_hold_and_resume_sets_no_override() {
    let (_dir, mut store) = store();
    store
        .pause_until(i64::MAX, "rate limited", Actor::Agent, "a")
        .unwrap();
    store.set_paused(false, Actor::Human, "me").unwrap();
    assert_eq!(store.setting("budget_override_until").unwrap(), None);
}

#[test]
fn an_issue_at_its_cap_is_parked_on_claim_with_how_to_raise_it() {
    let (_dir, mut store) = store();
    let costly = ready(&mut store, "costly");
    let other = ready(&mut store, "other");
    store.claim_next("a-1", 60_000).unwrap();
    spend(&mut store, costly, 0.5);
    store
        .move_issue(costly, Status::Blocked, Actor::System, "t")
        .unwrap();
    store
        .move_issue(costly, Status::Ready, Actor::Human, "me")
        .unwrap();
    let caps = Caps {
        per_issue_usd: Some(0.5),
        ..Caps::default()
    };
    let claim = store.claim_within("a-1", 60_000, &caps).unwrap();
    assert_eq!(claim.parked, vec![costly]);
    assert_eq!(claim.issue.map(|i| i.id), Some(other));
    let parked = store.issue(costly).unwrap();
    assert_eq!((parked.status, parked.claimed_by), (Status::Blocked, None));
    let comments = store.comments(costly).unwrap();
    let last = comments.last().unwrap();
    assert_eq!(
        last.body,
        format!("Not run again: this issue has spent $0.50, at or over its budget of $0.50 ([budget] per_issue_usd). To let it run, raise its cap with `autopilot-tui edit {costly} --budget USD` (or `e` in the TUI), then comment to hand it back to ready.")
    );

    // Its own cap wins over the default.
    let edit = IssueEdit {
        budget_usd: Some(Some(0.75)),
        ..IssueEdit::default()
    };
    assert_eq!(
        store.update_issue(costly, &edit, "me").unwrap().budget_usd,
        Some(0.75)
    );
    store
        .move_issue(costly, Status::Ready, Actor::Human, "me")
        .unwrap();
    let claim = store.claim_within("a-2", 60_000, &caps).unwrap();
    assert_eq!(claim.issue.map(|i| i.id), Some(costly));
    spend(&mut store, costly, 0.25);
    assert!(store.park_over_budget(costly, caps.per_issue_usd).unwrap());
    let last = store.comments(costly).unwrap().pop().unwrap();
    assert!(
        last.body.contains("spent $0.75") && last.body.contains("$0.75 (its own cap)"),
        "{}",
        last.body
    );
    assert!(
        !store.park_over_budget(costly, None).unwrap(),
        "not in progress"
    );
}

#[test]
fn a_budget_that_cannot_be_a_cap_is_refused_and_none_clears_it() {
    let (_dir, mut store) = store();
    let id = ready(&mut store, "t");
    for bad in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
        let edit = IssueEdit {
            budget_usd: Some(Some(bad)),
            ..IssueEdit::default()
        };
        let err = store.update_issue(id, &edit, "me").unwrap_err().to_string();
        assert!(err.contains("positive number"), "{err}");
    }
    let set = IssueEdit {
        budget_usd: Some(Some(3.0)),
        ..IssueEdit::default()
    };
    assert_eq!(
        store.update_issue(id, &set, "me").unwrap().budget_usd,
        Some(3.0)
    );
    let clear = IssueEdit {
        budget_usd: Some(None),
        ..IssueEdit::default()
    };
    assert_eq!(
        store.update_issue(id, &clear, "me").unwrap().budget_usd,
        None
    );
}

#[test]
fn max_in_review_holds_claims_while_the_review_column_is_full() {
    let (_dir, mut store) = store();
    let (first, second, third) = (
        ready(&mut store, "first"),
        ready(&mut store, "second"),
        ready(&mut store, "third"),
    );
    let caps = Caps {
        max_in_review: Some(2),
        ..Caps::default()
    };
    for id in [first, second] {
        let claimed = store.claim_within("a-1", 60_000, &caps).unwrap();
        assert_eq!(claimed.issue.map(|i| i.id), Some(id));
        store
            .db()
            .execute(
                "UPDATE issues SET status = 'in_review' WHERE id = ?1",
                vals![id],
            )
            .unwrap();
    }
    let refused = store.claim_within("a-1", 60_000, &caps).unwrap();
    assert!(refused.issue.is_none());
    let full = refused.review_full.expect("the limit refused the claim");
    assert_eq!((full.waiting, full.limit), (2, 2));
    assert!(full.reason().contains("review full: 2/2 waiting for you"));
    assert_eq!(store.review_full(Some(2)).unwrap(), Some(full));
    assert_eq!(
        store.issue(third).unwrap().status,
        Status::Ready,
        "not claimed"
    );

    // no limit, or a limit of 0, claims as before
    assert_eq!(store.review_full(Some(0)).unwrap(), None);
    store
        .move_issue(first, Status::Done, Actor::Human, "me")
        .unwrap();
    let claimed = store.claim_within("a-1", 60_000, &caps).unwrap();
    assert_eq!(claimed.issue.map(|i| i.id), Some(third));
}
