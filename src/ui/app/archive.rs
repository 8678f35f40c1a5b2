//! Archiving a done card and deleting a backlog one (after asking). The store has the last
//! word on both; these only save a round trip for what is plainly refused.

use super::{App, Effect, Level};
use crate::domain::Status;
use crate::ui::keymap::{Action, Context};
use crate::ui::state::confirm::Confirm;
use crate::ui::store_thread::StoreRequest;

impl App {
    /// Archives a done issue; the card leaves the done column when the change feed reloads it.
    pub(super) fn archive(&mut self, id: i64, status: Option<Status>) {
        match status {
            Some(Status::Done) => self.outbox.push(Effect::Store(StoreRequest::Archive(id))),
            Some(s) => self.toast(
                Level::Warn,
                format!("#{id} is {s}: only done issues are archived"),
                Some(id),
            ),
            None => self.toast(
                Level::Warn,
                format!("#{id}: status not loaded yet"),
                Some(id),
            ),
        }
    }

    /// Asks before deleting a backlog issue; anything else is refused with what to do instead.
    pub(super) fn ask_delete(&mut self, id: i64, status: Option<Status>) {
        match status {
            Some(Status::Backlog) => self.confirm = Some(Confirm::Delete { id }),
            Some(Status::Done) => {
                let key = self.keymap.label(Context::Board, Action::Archive);
                self.toast(
                    Level::Warn,
                    format!(
                        "#{id} is done: done work is archived, never deleted ({key} archives it)"
                    ),
                    Some(id),
                );
            }
            Some(s) => self.toast(
                Level::Warn,
                format!("#{id} is {s}: only a backlog issue that never ran can be deleted"),
                Some(id),
            ),
            None => self.toast(
                Level::Warn,
                format!("#{id}: status not loaded yet"),
                Some(id),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use crate::domain::Status;
    use crate::ui::keymap::Keymap;
    use crate::ui::state::confirm::Confirm;
    use crate::ui::store_thread::StoreRequest;
    use crate::ui::theme::Theme;

    use super::super::{App, Effect};

    fn app() -> App {
        App::new(
            Theme::default_dark(),
            Keymap::default(),
            "ana".into(),
            "repo".into(),
        )
    }

    fn stores(app: &mut App) -> Vec<StoreRequest> {
        app.take_effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Store(r @ (StoreRequest::Archive(_) | StoreRequest::Delete(_))) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn archive_sends_only_a_done_issue_and_delete_asks_before_sending() {
        let mut app = app();
        app.archive(4, Some(Status::Done));
        assert!(matches!(stores(&mut app)[..], [StoreRequest::Archive(4)]));
        app.archive(5, Some(Status::Ready));
        assert!(stores(&mut app).is_empty());

        app.ask_delete(6, Some(Status::Done));
        assert!(app.confirm().is_none(), "a done issue is not deleted");
        app.ask_delete(6, Some(Status::Backlog));
        assert_eq!(app.confirm(), Some(&Confirm::Delete { id: 6 }));
        assert!(stores(&mut app).is_empty(), "nothing before the answer");
        app.on_key(KeyEvent::from(KeyCode::Char('n')));
        assert!(app.confirm().is_none());
        assert!(stores(&mut app).is_empty(), "no keeps it");

        app.ask_delete(6, Some(Status::Backlog));
        app.on_key(KeyEvent::from(KeyCode::Char('y')));
        assert!(app.confirm().is_none());
        assert!(matches!(stores(&mut app)[..], [StoreRequest::Delete(6)]));
    }

    #[test]
    fn a_detail_open_on_an_issue_deleted_elsewhere_closes() {
        use crate::domain::{ActorId, Event, EventKind};
        use crate::ui::store_thread::StoreReply;
        let mut app = app();
        app.jump_to_issue(8);
        let deleted = |issue_id| Event {
            id: 1,
            ts: 0,
            kind: EventKind::IssueDeleted {
                title: "gone".into(),
            },
            issue_id: Some(issue_id),
            actor: ActorId::human("bo"),
        };
        let changed = |e| StoreReply::Changed {
            events: vec![e],
            pause: Default::default(),
        };
        app.on_store(changed(deleted(9)));
        assert!(
            app.detail().is_some(),
            "another issue's delete leaves it open"
        );
        app.on_store(changed(deleted(8)));
        assert!(app.detail().is_none());
    }
}
