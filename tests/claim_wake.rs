//! Work made ready by another process reaches an idle runner without waiting for its poll:
//! the runner watches the database and wakes its idle slots.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use autopilot_tui::store::sql::Exec;
use support::{wait_for, TestRepo};

/// The claim is what a slot does first once woken: the issue leaves `ready`. Read straight
/// from the queue, as a CLI process per look would add its own start-up to what is measured.
fn claimed(repo: &TestRepo, id: i64) -> Option<()> {
    let status: String = repo
        .sql()
        .query_row(
            "SELECT status FROM issues WHERE id = ?1",
            &[id.into()],
            |r| r.get(0),
        )
        .unwrap();
    (status != "ready").then_some(())
}

#[test]
fn an_issue_made_ready_by_the_cli_is_claimed_by_an_idle_runner_well_before_its_poll() {
    // The default poll (15 s): the wake-up must not depend on lowering it.
    let repo = TestRepo::new();
    let first = repo.add(&["First", "--body", "Create hello.txt", "--ready"]);
    let _runner = repo.spawn_run(&["--agents", "1"]);
    wait_for(
        "the first issue reaches review",
        Duration::from_secs(30),
        || (repo.status(first) == "in_review").then_some(()),
    );
    // The slot found nothing more and now waits for its next poll, 15 s away.

    let second = repo.add(&["Second", "--body", "Create hello.txt"]);
    let start = Instant::now();
    repo.ok(&["move", &second.to_string(), "ready"]);
    wait_for(
        "the second issue is claimed",
        Duration::from_secs(14),
        || claimed(&repo, second),
    );
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "claimed {took:?} after it was made ready (the poll is 15 s)"
    );

    // A new ready issue counts as much as a move.
    wait_for(
        "the second issue reaches review",
        Duration::from_secs(30),
        || (repo.status(second) == "in_review").then_some(()),
    );
    let start = Instant::now();
    let third = repo.add(&["Third", "--body", "Create hello.txt", "--ready"]);
    wait_for(
        "the third issue is claimed",
        Duration::from_secs(14),
        || claimed(&repo, third),
    );
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "claimed {took:?} after it was added"
    );

    // A dependency finished in another process frees the issue waiting on it.
    wait_for(
        "the third issue reaches review",
        Duration::from_secs(30),
        || (repo.status(third) == "in_review").then_some(()),
    );
    let waiting = repo.add(&[
        "Fourth",
        "--body",
        "Create hello.txt",
        "--ready",
        "--depends-on",
        &third.to_string(),
    ]);
    assert_eq!(repo.status(waiting), "ready");
    let start = Instant::now();
    repo.ok(&["move", &third.to_string(), "done"]);
    wait_for(
        "the waiting issue is claimed",
        Duration::from_secs(14),
        || claimed(&repo, waiting),
    );
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "claimed {took:?} after its dependency was done"
    );
}

#[test]
fn a_tuis_idle_runner_claims_an_issue_the_cli_made_ready_within_two_seconds() {
    use support::tmux::{Tmux, LIMIT};
    let repo = TestRepo::new();
    let Some(t) = Tmux::start(&repo, "--agents 1") else {
        return;
    };
    // The runner's slot looked once at start-up, found nothing and waits for its poll (15 s).
    t.wait_screen("backlog");
    let id = repo.add(&["From elsewhere", "--body", "Create hello.txt", "--ready"]);
    // From its commit (the CLI's exit), not from the CLI's own start-up.
    let start = Instant::now();
    wait_for("the issue is claimed", Duration::from_secs(14), || {
        claimed(&repo, id)
    });
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "claimed {took:?} after it was added"
    );
    // The TUI that claimed it shows the run.
    t.wait_screen("From elsewhere");
    wait_for("the issue reaches review", LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
}
