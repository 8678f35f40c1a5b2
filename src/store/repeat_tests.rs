use super::*;
use crate::domain::schedule::parse_every;
use crate::domain::{now_millis, Actor, Kind};
use crate::store::{IssueEdit, NewIssue};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn add(store: &mut Store, title: &str, not_before: Option<Millis>, every: Option<Millis>) -> i64 {
    store
        .create_issue(
            &NewIssue {
                title: title.into(),
                body: "the body".into(),
                kind: Kind::Chore,
                priority: 3,
                ready: true,
                not_before,
                every_ms: every,
                model: Some("haiku".into()),
                ..NewIssue::default()
            },
            "tester",
        )
        .expect("create")
        .id
}

/// Claims `id` and takes it through review to done.
fn finish(store: &mut Store, id: i64) {
    let claimed = store.claim_next("a1", 60_000).expect("claim").expect("one");
    assert_eq!(claimed.id, id);
    store
        .move_issue(id, Status::InReview, Actor::Agent, "a1")
        .expect("review");
    store
        .move_issue(id, Status::Done, Actor::Human, "me")
        .expect("done");
}

fn copies_of(store: &Store, id: i64) -> Vec<Issue> {
    store
        .list_issues(None)
        .expect("list")
        .into_iter()
        .filter(|i| i.previous == Some(id))
        .collect()
}

#[test]
fn a_claim_skips_issues_scheduled_for_later_and_the_nap_knows_when() {
    let (_d, mut store) = temp_store();
    let later = now_millis() + HOUR;
    let scheduled = add(&mut store, "later", Some(later), None);
    assert!(store.claim_next("a1", 60_000).expect("claim").is_none());
    assert_eq!(
        store.next_scheduled(now_millis()).expect("next"),
        Some(later)
    );
    // A plain ready issue of lower priority is claimed past it.
    let plain = store
        .create_issue(
            &NewIssue {
                title: "now".into(),
                ready: true,
                ..NewIssue::default()
            },
            "tester",
        )
        .expect("create")
        .id;
    assert_eq!(
        store.claim_next("a1", 60_000).expect("claim").map(|i| i.id),
        Some(plain)
    );
    // Cleared, it is claimable at once; a time in the past is too.
    store
        .update_issue(
            scheduled,
            &IssueEdit {
                not_before: Some(Some(now_millis() - DAY)),
                ..IssueEdit::default()
            },
            "me",
        )
        .expect("edit");
    assert_eq!(store.next_scheduled(now_millis()).expect("next"), None);
    assert_eq!(
        store.claim_next("a2", 60_000).expect("claim").map(|i| i.id),
        Some(scheduled)
    );
}

#[test]
fn a_repeating_issue_done_leaves_one_linked_copy_for_its_next_time() {
    let (_d, mut store) = temp_store();
    let at = now_millis() - HOUR;
    let every = parse_every("1d").expect("1d");
    let id = add(&mut store, "daily report", Some(at), every);
    finish(&mut store, id);
    let copies = copies_of(&store, id);
    assert_eq!(copies.len(), 1, "{copies:?}");
    let copy = &copies[0];
    assert_eq!(copy.status, Status::Ready);
    assert_eq!(
        copy.not_before,
        Some(at + DAY),
        "on the schedule, not the done time"
    );
    assert_eq!(
        (
            copy.title.as_str(),
            copy.body.as_str(),
            copy.kind,
            copy.priority
        ),
        ("daily report", "the body", Kind::Chore, 3)
    );
    assert_eq!(
        (copy.model.as_deref(), copy.every_ms),
        (Some("haiku"), every)
    );
    let thread = store.comments(copy.id).expect("comments");
    assert!(
        thread
            .iter()
            .any(|c| c.body.starts_with(&format!("Repeats #{id} (every 1d)"))),
        "{thread:?}"
    );
    // The copy is not claimed before its time; moving the done one again makes no second copy.
    assert!(store.claim_next("a1", 60_000).expect("claim").is_none());
    store
        .move_issue(id, Status::Ready, Actor::Human, "me")
        .expect_err("done to ready is not a move");
    assert_eq!(copies_of(&store, id).len(), 1);
}

#[test]
fn a_copy_of_a_long_missed_schedule_is_advanced_past_now_once() {
    let (_d, mut store) = temp_store();
    let at = now_millis() - 10 * DAY - HOUR;
    let id = add(&mut store, "weekly", Some(at), Some(DAY));
    finish(&mut store, id);
    let copies = copies_of(&store, id);
    assert_eq!(copies.len(), 1);
    let next = copies[0].not_before.expect("scheduled");
    assert!(next > now_millis() && next <= now_millis() + DAY, "{next}");
    assert_eq!((next - at) % DAY, 0, "on the schedule's grid");
    // Without a time of its own, the copy comes a period after it was done.
    let id = add(&mut store, "plain", None, Some(DAY));
    let before = now_millis();
    finish(&mut store, id);
    let next = copies_of(&store, id)[0].not_before.expect("scheduled");
    assert!(next >= before + DAY && next <= now_millis() + DAY, "{next}");
}

#[test]
fn an_issue_that_does_not_repeat_leaves_no_copy_and_short_periods_are_refused() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "once", None, None);
    finish(&mut store, id);
    assert!(copies_of(&store, id).is_empty());
    let err = store
        .create_issue(
            &NewIssue {
                title: "too often".into(),
                every_ms: Some(1_000),
                ..NewIssue::default()
            },
            "tester",
        )
        .expect_err("a second");
    assert!(err.to_string().contains("once a minute"), "{err}");
}
