//! The one event loop: keys, store replies, runner events and signals arrive on one channel;
//! the UI task folds them into `App` and draws only when something changed.

use std::io::Write;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::{FutureExt, StreamExt};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::{App, Effect, Level};
use super::keymap::Keymap;
use super::state::diff::{DiffPayload, DiffReply, DiffRequest};
use super::store_thread::{self, StoreReply};
use super::terminal::{draw_synced, TerminalGuard};
use super::theme::Theme;
use super::{views, UiOptions};
use crate::domain::now_millis;
use crate::runner::review::accept::{self, AcceptError, Accepted};
use crate::runner::takeover::{self, Outcome, Prepared, Takeover, TakeoverSettings};
use crate::runner::{Runner, RunnerCommand, RunnerEvent};

/// Shortest time between two frames after a key, a mouse event or any answer (~60 fps).
const FRAME: Duration = Duration::from_millis(16);
/// Shortest time between two frames that only show agents' output and progress (10 fps): a
/// fleet of agents prints all the time, and drawing each of their lines at 60 fps cost more
/// than running them. Text scrolling at 10 fps reads as smooth; keys still draw at once.
const STREAM_FRAME: Duration = Duration::from_millis(100);

/// Whether an event only streams what agents print (their output, turns and cost), which is
/// drawn at [`STREAM_FRAME`]'s pace.
fn streams(ev: &UiEvent) -> bool {
    matches!(
        ev,
        UiEvent::Runner(RunnerEvent::Output { .. } | RunnerEvent::Progress { .. })
            | UiEvent::Store(StoreReply::Remote(_))
    )
}
/// How long after a take-over a SIGINT or SIGQUIT is taken as the program's, not a quit.
const SIGNAL_ECHO: Duration = Duration::from_secs(1);
/// How long quitting waits for the runner to stop its agents.
const RUNNER_GRACE: Duration = Duration::from_secs(10);

/// Everything that can wake the UI task.
#[derive(Debug)]
pub enum UiEvent {
    /// A terminal event (key, mouse, resize).
    Term(TermEvent),
    /// Reading the terminal failed.
    TermError(String),
    /// The store thread answered or saw a change.
    Store(StoreReply),
    /// The in-process runner reported something.
    Runner(RunnerEvent),
    /// The runner stopped (with its error, if any).
    RunnerExited(Option<String>),
    /// A diff computed off the UI thread.
    Diff(DiffReply),
    /// Accepting an issue ended.
    Accepted(i64, Result<Accepted, AcceptError>),
    /// A take-over was checked (see [`Effect::PrepareTakeover`]).
    TakeoverReady(Takeover, Result<Prepared, String>),
    /// A take-over's program ended (see [`Effect::RunTakeover`]).
    TakeoverDone(Outcome),
}

/// Builds the app from options: theme, keys, runner presence. Returns warnings to show; a
/// theme that cannot be used is an error, before the terminal is taken over.
pub fn build_app(opts: &UiOptions, no_color: bool) -> anyhow::Result<(App, Vec<String>)> {
    let ui = &opts.config.file.ui;
    let requested = opts.theme.clone().or_else(|| ui.theme.clone());
    let (theme, mut warnings) =
        Theme::resolve(requested.as_deref(), no_color).map_err(|e| anyhow::anyhow!(e))?;
    let (keymap, w) = Keymap::with_overrides(ui.keys.as_ref());
    warnings.extend(w);
    // Same identity as the CLI, so our own events are recognised and not toasted twice.
    let user = crate::config::user_name(&|k| std::env::var(k).ok());
    let repo = opts
        .config
        .paths
        .repo_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut app = App::new(theme, keymap, user, repo);
    app.set_mouse(ui.mouse.unwrap_or(false));
    app.set_bell(ui.bell.unwrap_or(false));
    app.set_osc(opts.config.file.notify.osc_style().is_some());
    app.set_daily_budget(opts.config.file.budget.daily_usd);
    app.set_max_in_review(opts.config.file.runner.max_in_review);
    let templates = opts.config.templates().list();
    app.set_templates(templates.into_iter().map(|t| t.name).collect());
    Ok((app, warnings))
}

/// Runs the TUI on its own runtime until the user quits or a signal ends it.
pub fn run(mut opts: UiOptions) -> anyhow::Result<()> {
    let rt = crate::sys::runtime()?;
    if let Some(task) = opts.beside.take() {
        rt.spawn(task);
    }
    let result = rt.block_on(main_loop(opts));
    // Agent processes were stopped by the runner's cancellation; do not wait on stray tasks.
    rt.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn main_loop(opts: UiOptions) -> anyhow::Result<()> {
    let no_color = std::env::var("NO_COLOR").is_ok_and(|v| !v.is_empty());
    let (mut app, warnings) = build_app(&opts, no_color)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<UiEvent>();

    let store_tx = {
        let tx = tx.clone();
        store_thread::spawn(
            opts.config.paths.db.clone(),
            std::sync::Arc::clone(&opts.config.redactor),
            opts.config.renderer(),
            app.user().to_string(),
            move |r| tx.send(UiEvent::Store(r)).is_ok(),
        )?
    };

    let accept_settings = opts.config.accept_settings();
    let takeover_settings = {
        let s = &accept_settings;
        TakeoverSettings {
            db: s.db.clone(),
            redactor: std::sync::Arc::clone(&s.redactor),
            commit_name: s.commit_name.clone(),
            commit_email: s.commit_email.clone(),
            agent: opts.config.adapter().map_err(|e| format!("{e:#}")),
        }
    };
    let cancel = CancellationToken::new();
    let mut runner_cmd: Option<mpsc::UnboundedSender<RunnerCommand>> = None;
    let mut runner_task = None;
    // Held while this process's runner runs, so a headless `run` names this TUI; another
    // runner holding it only earns a warning here (claims stay safe with two).
    let mut _runner_lock = None;
    if !opts.no_runner {
        match opts.config.adapter() {
            Ok(adapter) => {
                match crate::runner::lock::RunnerLock::acquire(&opts.config.runner_lock_of()) {
                    Ok(lock) => _runner_lock = Some(lock),
                    Err(e) => app.toast(
                        Level::Warn,
                        format!("{e}; this TUI runs agents too (`attach` only watches)"),
                        None,
                    ),
                }
                let (etx, mut erx) = mpsc::unbounded_channel::<RunnerEvent>();
                let (ctx, crx) = mpsc::unbounded_channel::<RunnerCommand>();
                let mut settings = opts.config.runner_settings(opts.agents);
                // The store thread watches the database already: its news wakes the runner.
                settings.watch_store = false;
                let runner = Runner::new(settings, adapter, etx)
                    .with_agents(opts.config.agents().unwrap_or_default());
                let forward = tx.clone();
                tokio::spawn(async move {
                    while let Some(ev) = erx.recv().await {
                        if forward.send(UiEvent::Runner(ev)).is_err() {
                            break;
                        }
                    }
                });
                let done = tx.clone();
                let c = cancel.clone();
                runner_task = Some(tokio::spawn(async move {
                    let r = runner.run(false, crx, c).await;
                    let _ = done.send(UiEvent::RunnerExited(r.err().map(|e| format!("{e:#}"))));
                }));
                runner_cmd = Some(ctx);
                app.set_has_runner(true);
            }
            Err(e) => app.set_banner(Some(format!(
                "{e:#} — the board works, but no agent will run"
            ))),
        }
    }
    for w in warnings {
        app.toast(Level::Warn, w, None);
    }

    // Whatever ends the loop (a quit, a signal, a terminal that went away), the runner is
    // stopped below: its agents are stopped and their issues handed back before we exit.
    let mut hung_up = false;
    let outcome: anyhow::Result<()> = async {
        let guard = TerminalGuard::enter(app.mouse())?;
        // Never dropped: ratatui's Terminal reports a cursor it cannot show with `eprintln!`
        // when dropped, which panics once the terminal is gone (a dropped SSH session). The
        // guard puts the cursor back itself, ignoring a terminal that is not there.
        let mut term = std::mem::ManuallyDrop::new(guard.terminal()?);
        let osc = opts.config.file.notify.osc_style();
        let in_tmux = std::env::var_os("TMUX").is_some_and(|t| !t.is_empty());
        let size = term.size()?;
        app.set_now(now_millis());
        app.resize(size.width, size.height);
        app.start();

        let mut input = Some(spawn_input(tx.clone()));
        // While a take-over's program has the terminal, nothing is drawn and no key is read.
        let mut away = false;
        // When the board last took the terminal back: a ctrl-c meant for the program can be
        // reported a moment after it ended.
        let mut back_at: Option<Instant> = None;
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sighup = signal(SignalKind::hangup())?;
        // ctrl-c and ctrl-\ in a program that does not take the terminal's keys itself signal
        // the whole foreground group, this process too: caught, they must not kill the board
        // that lent its terminal. Otherwise (from `kill`) they quit like SIGTERM.
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigquit = signal(SignalKind::quit())?;
        let mut last_draw = Instant::now() - STREAM_FRAME;
        let mut next_tick = Instant::now() + Duration::from_secs(1);
        // The pace of the next frame: set to FRAME by anything but streamed output.
        let mut gap = STREAM_FRAME;

        loop {
            let draw_at = last_draw + gap;
            let ticking = app.needs_tick();
            let dirty = app.is_dirty();
            // One wake-up when a typed search query is due, none while nothing waits.
            let search_at = app.search_due().map(|due| {
                let wait = u64::try_from(due.saturating_sub(now_millis())).unwrap_or(0);
                Instant::now() + Duration::from_millis(wait)
            });
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        if !streams(&ev) {
                            gap = FRAME;
                        }
                        handle(&mut app, ev);
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(draw_at.into()), if dirty => {}
                () = tokio::time::sleep_until(search_at.unwrap_or(draw_at).into()), if search_at.is_some() => {
                    app.fire_search(now_millis());
                }
                () = tokio::time::sleep_until(next_tick.into()), if ticking => {
                    app.tick(now_millis());
                    next_tick = Instant::now() + Duration::from_secs(1);
                }
                _ = sigterm.recv() => app.request_quit(),
                _ = sigint.recv(), if !away => {
                    if !back_at.is_some_and(|t| t.elapsed() < SIGNAL_ECHO) {
                        app.request_quit();
                    }
                }
                _ = sigquit.recv(), if !away => {
                    if !back_at.is_some_and(|t| t.elapsed() < SIGNAL_ECHO) {
                        app.request_quit();
                    }
                }
                _ = sighup.recv() => { app.request_quit(); hung_up = true; }
            }
            if !ticking {
                next_tick = Instant::now() + Duration::from_secs(1);
            }
            // Fold everything already queued before drawing once.
            for _ in 0..4096 {
                match rx.try_recv() {
                    Ok(ev) => {
                        if !streams(&ev) {
                            gap = FRAME;
                        }
                        handle(&mut app, ev);
                    }
                    Err(_) => break,
                }
            }
            for effect in app.take_effects() {
                match effect {
                    Effect::Store(req) => {
                        if store_tx.send(req).is_err() {
                            app.toast(
                                Level::Error,
                                "the store thread stopped; restart autopilot-tui",
                                None,
                            );
                        }
                    }
                    Effect::Runner(cmd) => {
                        if let Some(c) = &runner_cmd {
                            let _ = c.send(cmd);
                        }
                    }
                    Effect::Diff(req) => {
                        let shared = opts.config.shared_mode();
                        spawn_diff(opts.config.paths.repo_root.clone(), shared, req, tx.clone())
                    }
                    Effect::Accept(id) => {
                        // Git and SQLite block: off the UI task, answered on the channel.
                        let (settings, tx, user) =
                            (accept_settings.clone(), tx.clone(), app.user().to_string());
                        tokio::task::spawn_blocking(move || {
                            let result = accept::accept(&settings, id, &user, false);
                            let _ = tx.send(UiEvent::Accepted(id, result));
                        });
                    }
                    Effect::PrepareTakeover(t) => {
                        let (settings, tx) = (takeover_settings.clone(), tx.clone());
                        tokio::task::spawn_blocking(move || {
                            let env = |k: &str| std::env::var(k).ok();
                            let prepared = takeover::prepare(&settings, t, &env);
                            let _ = tx.send(UiEvent::TakeoverReady(t, prepared));
                        });
                    }
                    Effect::RunTakeover(prepared) => {
                        // The key reader stops first: it would take the program's keys.
                        if let Some(reader) = input.take() {
                            reader.abort();
                            let _ = reader.await;
                        }
                        guard.release();
                        away = true;
                        if let Some(banner) = prepared.banner() {
                            let _ = writeln!(std::io::stdout(), "{banner}");
                        }
                        let (settings, tx) = (takeover_settings.clone(), tx.clone());
                        tokio::task::spawn_blocking(move || {
                            let outcome = takeover::run(&settings, *prepared);
                            let _ = tx.send(UiEvent::TakeoverDone(outcome));
                        });
                    }
                    Effect::Resume => {
                        let back = guard.reacquire().and_then(|()| {
                            term.clear()?;
                            term.size()
                        });
                        let size = match back {
                            Ok(size) => size,
                            Err(e) => {
                                hung_up = true;
                                return Err(e.into());
                            }
                        };
                        away = false;
                        back_at = Some(Instant::now());
                        // Drained: a ctrl-c meant for the program is not a quit.
                        while sigint.recv().now_or_never().flatten().is_some() {}
                        while sigquit.recv().now_or_never().flatten().is_some() {}
                        input = Some(spawn_input(tx.clone()));
                        app.resize(size.width, size.height);
                        app.mark_dirty();
                    }
                    Effect::Bell if away => {}
                    Effect::Bell => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(b"\x07");
                        let _ = out.flush();
                    }
                    Effect::Notice(_) if away => {}
                    Effect::Notice(text) => {
                        if let Some(style) = osc {
                            let bytes = crate::ui::osc::sequence(style, &text, in_tmux);
                            let out = term.backend_mut();
                            let _ = out.write_all(&bytes);
                            let _ = out.flush();
                        }
                    }
                    Effect::Suspend => {
                        if let Err(e) = guard.suspend().and_then(|()| term.clear()) {
                            hung_up = true;
                            return Err(e.into());
                        }
                        app.mark_dirty();
                    }
                }
            }
            if app.quit_when_idle() && app.running() == 0 {
                app.request_quit();
            }
            if app.quit_requested() {
                break;
            }
            if !away && app.is_dirty() && Instant::now() >= last_draw + gap {
                if let Err(e) = draw_synced(&mut term, |f| views::draw(f, &app)) {
                    // The terminal is gone (a dropped SSH session closes it before SIGHUP
                    // arrives) or broken: nobody sees the board any more.
                    hung_up = true;
                    return Err(e.into());
                }
                app.mark_drawn();
                last_draw = Instant::now();
                gap = STREAM_FRAME;
            }
        }

        Ok(())
    }
    .await;

    cancel.cancel();
    drop(runner_cmd);
    if let Some(task) = runner_task {
        if !hung_up && app.running() > 0 {
            // The terminal may be closing: a message that cannot be written is not an error.
            let _ = writeln!(
                std::io::stderr(),
                "stopping {} running agent(s)…",
                app.running()
            );
        }
        let _ = tokio::time::timeout(RUNNER_GRACE, task).await;
    }
    drop(store_tx);
    outcome
}

/// Reads the terminal's events onto the UI channel until aborted (a take-over stops it, so
/// the program it runs gets every key).
fn spawn_input(tx: mpsc::UnboundedSender<UiEvent>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut input = EventStream::new();
        while let Some(ev) = input.next().await {
            let msg = match ev {
                Ok(e) => UiEvent::Term(e),
                Err(e) => UiEvent::TermError(e.to_string()),
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })
}

/// Runs git for a diff on a blocking task: a large diff takes a while to read and parse, and
/// the UI task never waits on a process. The answer comes back on the UI channel.
fn spawn_diff(
    repo: std::path::PathBuf,
    shared: bool,
    req: DiffRequest,
    tx: mpsc::UnboundedSender<UiEvent>,
) {
    use crate::runner::review::diff;
    tokio::task::spawn_blocking(move || {
        // Shared mode: the branch as the remote has it (another box may have run it).
        let fetched = match shared {
            true => crate::runner::remote::fetch_for_diff(&repo, &req.target),
            false => Ok(()),
        };
        let result = if let Err(e) = fetched {
            Err(e)
        } else if req.full {
            diff::issue_diff(&repo, &req.target).map(|d| DiffPayload::Full(Box::new(d)))
        } else {
            diff::issue_stat(&repo, &req.target).map(DiffPayload::Stat)
        };
        let _ = tx.send(UiEvent::Diff(DiffReply {
            gen: req.gen,
            issue_id: req.target.issue_id,
            result: result.map_err(|e| e.to_string()),
        }));
    });
}

fn handle(app: &mut App, ev: UiEvent) {
    app.set_now(now_millis());
    match ev {
        UiEvent::Term(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => app.on_key(k),
        UiEvent::Term(TermEvent::Key(_)) => {}
        UiEvent::Term(TermEvent::Mouse(m)) => app.on_mouse(m),
        UiEvent::Term(TermEvent::Resize(w, h)) => app.resize(w, h),
        UiEvent::Term(_) => {}
        UiEvent::TermError(e) => app.toast(Level::Error, format!("terminal: {e}"), None),
        UiEvent::Store(r) => app.on_store(r),
        UiEvent::Runner(r) => app.on_runner(r),
        UiEvent::Diff(r) => app.on_diff(r),
        UiEvent::Accepted(id, result) => app.on_accepted(id, result),
        UiEvent::TakeoverReady(t, prepared) => app.on_takeover_ready(t, prepared),
        UiEvent::TakeoverDone(outcome) => app.on_takeover_done(outcome),
        UiEvent::RunnerExited(err) => {
            app.set_has_runner(false);
            if let Some(e) = err {
                app.set_banner(Some(format!("runner stopped: {e}")));
            }
            app.mark_dirty();
        }
    }
}
