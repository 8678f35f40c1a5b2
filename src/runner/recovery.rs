//! Recovering work whose runner died, and stopping an issue from any process: the store's
//! transaction first, then the orphaned agents killed. Runner start-up, `stop` and the TUI's
//! `x` all come through here.

use crate::store::sql::StoreUrl;

use super::process::{kill_run_orphans, pid_alive};
use crate::store::{Recovered, Stop, Store, StoreError};
use crate::sys::host_name;

/// Closes the runs of this host's dead runners as interrupted and hands their issues back
/// (to blocked after `max_interruptions`), then kills the agents they left behind. Returns
/// the runs closed.
pub fn recover_dead_runs(
    store: &mut Store,
    max_interruptions: i64,
) -> Result<Vec<Recovered>, StoreError> {
    let runs = store.recover_dead_runs(&host_name(), &|pid| pid_alive(pid), max_interruptions)?;
    kill_orphans(store.url(), &runs);
    Ok(runs)
}

/// Stops the agent working on issue `id`, as `by`. A runner that is alive gets a request (it
/// polls for them); when the runner is gone, the issue is parked in blocked at once and the
/// agents it left behind are killed.
pub fn stop_issue(store: &mut Store, id: i64, by: &str) -> Result<Stop, StoreError> {
    let stop = store.stop_issue(id, by, &host_name(), &|pid| pid_alive(pid))?;
    if let Stop::Recovered { runs, .. } = &stop {
        kill_orphans(store.url(), runs);
    }
    Ok(stop)
}

fn kill_orphans(db: &StoreUrl, runs: &[Recovered]) {
    for run in runs {
        let killed = kill_run_orphans(db, run.run_id);
        if killed > 0 {
            tracing::warn!(
                run_id = run.run_id,
                issue_id = run.issue_id,
                killed,
                "killed orphaned agent processes of a dead run"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuthorKind, RunOutcome, Status};
    use crate::store::NewIssue;

    #[test]
    fn stopping_an_issue_whose_runner_died_parks_it_and_kills_its_agent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("a.db");
        let mut store = Store::open(&db).expect("open");
        let new = NewIssue {
            title: "Orphaned".into(),
            ready: true,
            ..NewIssue::default()
        };
        let id = store.create_issue(&new, "me").expect("add").id;
        store
            .claim_next("a-1", 60_000)
            .expect("claim")
            .expect("one");
        let run = store.start_run(id, "a-1", 0, &host_name()).expect("run");
        // The run's owner is a process that has exited, as after kill -9 of its runner; the
        // agent it started lives on, marked with the run.
        let mut owner = std::process::Command::new("true").spawn().expect("spawn");
        let dead_pid = i64::from(owner.id());
        owner.wait().expect("wait");
        store
            .db()
            .sqlite()
            .unwrap()
            .execute(
                "UPDATE runs SET owner_pid = ?1 WHERE id = ?2",
                [dead_pid, run],
            )
            .expect("set the owner");
        let (key, value) = super::super::process::run_marker(&db.clone().into(), run);
        let mut agent = std::process::Command::new("sleep")
            .arg("1000")
            .env(key, value)
            .spawn()
            .expect("spawn the agent");

        let stop = stop_issue(&mut store, id, "me").expect("stop");
        let Stop::Recovered { issue, why, runs } = stop else {
            panic!("a request nobody will read: {stop:?}");
        };
        assert_eq!(issue.status, Status::Blocked);
        assert!(why.contains(&format!("process {dead_pid}")), "{why}");
        assert_eq!(runs.len(), 1);
        // The agent was signalled before stop returned; under load the kernel may take a
        // moment to finish it, so its end is awaited with a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            match agent.try_wait().expect("try_wait") {
                Some(status) => break Some(status),
                None if std::time::Instant::now() >= deadline => break None,
                None => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        };
        if status.is_none() {
            let _ = agent.kill();
            let _ = agent.wait();
        }
        assert!(
            status.is_some_and(|s| !s.success()),
            "the agent was killed: {status:?}"
        );
        assert_eq!(
            store.run(run).expect("run").outcome,
            Some(RunOutcome::Interrupted)
        );
        let last = store.latest_comment(id).expect("read").expect("a comment");
        assert_eq!(last.author_kind, AuthorKind::System);
        assert!(last.body.contains("Stopped by me"), "{}", last.body);

        // an issue whose runner lives gets a request, as before
        let other = store.create_issue(&new, "me").expect("add").id;
        store
            .claim_next("a-1", 60_000)
            .expect("claim")
            .expect("one");
        store.start_run(other, "a-1", 0, &host_name()).expect("run");
        let stop = stop_issue(&mut store, other, "me").expect("stop");
        assert!(
            matches!(stop, Stop::Requested(ref i) if i.status == Status::InProgress),
            "{stop:?}"
        );
        assert_eq!(store.stop_requests(&[other]).expect("read").len(), 1);
    }
}
