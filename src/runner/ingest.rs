//! The agent's output on its way to the store and the panes: a reader task splits stdout
//! into capped lines, parses them and batches them; a writer task stores each batch, then
//! renders it for the pane and folds its events into what the run observed, so what a pane
//! shows is always already saved.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::agent::{Adapter, AgentEvent};
use super::estimate::Live;
use super::events::{LineKind, PaneLine, RunnerEvent};
use super::outcome::Observed;
use super::process::{LineSplitter, MAX_LINE_BYTES};
use super::transcripts::Transcripts;
use super::Db;
use crate::domain::now_millis;
use crate::domain::redact::{LineState, Redactor};
use crate::store::Append;
use crate::store::TranscriptBatch;

/// Most bytes of output a batch grows to while the writer is busy (also the size of a
/// transcript row under a flood).
const FLUSH_BYTES: usize = 256 << 10;
/// Most parsed events a batch grows to while the writer is busy: past the transcript cap
/// lines are no longer stored, but still parsed, and must not pile up either.
const FLUSH_ITEMS: usize = 16 << 10;
/// Bytes asked for per read of the agent's stdout.
const READ_BYTES: usize = 256 << 10;
/// Most bytes of output held in memory while the store refuses it; past that lines are
/// dropped with a marker.
const UNSAVED_MAX: usize = 64 << 20;
/// Tries to store what is held once the agent has exited, before giving up on it.
const FINAL_ATTEMPTS: u32 = 3;
/// The first and the longest wait between tries to store held output.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(4);

/// A batch of output on its way from the reader to the store.
pub(super) struct Chunk {
    transcript: TranscriptBatch,
    items: Vec<Item>,
}

impl Default for Chunk {
    /// Its lines' searchable text is rendered by the reader, beside the store's transaction
    /// of the batch before, not inside it.
    fn default() -> Self {
        Chunk {
            transcript: TranscriptBatch::with_search_text(),
            items: Vec::new(),
        }
    }
}

/// What a batch carries besides its raw lines, in order.
enum Item {
    /// A parsed event, rendered and observed once the batch is stored.
    Event(AgentEvent),
    /// A note of the runner's own for the pane.
    Note(String),
}

impl Chunk {
    fn is_empty(&self) -> bool {
        self.transcript.is_empty() && self.items.is_empty()
    }

    /// Takes in the batch that was read after this one.
    fn absorb(&mut self, later: Chunk) {
        self.transcript.append(later.transcript);
        self.items.extend(later.items);
    }
}

/// What the reader keeps while it splits output into lines and batches.
pub(super) struct Ingest {
    adapter: Arc<dyn Adapter>,
    redactor: Arc<Redactor>,
    secrets: LineState,
    cap: u64,
    stored: u64,
    capped: bool,
    chunk: Chunk,
    tail: Option<Tail>,
}

/// The last lines of output, kept apart from the transcript (also past its cap): what a
/// failing check printed last goes into a comment and the agent's next prompt.
struct Tail {
    lines: std::collections::VecDeque<Vec<u8>>,
    max: usize,
}

/// Most bytes kept of one line of the tail.
const TAIL_LINE_BYTES: usize = 500;

impl Ingest {
    /// A reader state for one agent process: how to parse, what to redact, and the per-run
    /// transcript cap in bytes.
    pub(super) fn new(adapter: Arc<dyn Adapter>, redactor: Arc<Redactor>, cap: u64) -> Ingest {
        Ingest {
            adapter,
            redactor,
            secrets: LineState::default(),
            cap,
            stored: 0,
            capped: false,
            chunk: Chunk::default(),
            tail: None,
        }
    }

    /// Also keeps the last `lines` lines (each cut at [`TAIL_LINE_BYTES`]), redacted, for
    /// [`read_output`] to return.
    pub(super) fn with_tail(mut self, lines: usize) -> Ingest {
        self.tail = Some(Tail {
            lines: std::collections::VecDeque::with_capacity(lines + 1),
            max: lines,
        });
        self
    }

    /// One complete line (without its newline); `dropped` bytes of it were over the line cap.
    fn line(&mut self, bytes: &[u8], dropped: usize) {
        // Secrets go before anything sees the line: the parser, the pane, the transcript.
        let redacted = self.redactor.line(bytes, &mut self.secrets);
        let bytes = &*redacted;
        let marked: std::borrow::Cow<'_, [u8]> = if dropped > 0 {
            let mut line = bytes.to_vec();
            line.extend_from_slice(
                format!("…[autopilot: {dropped} bytes of this line dropped; lines are capped at {} MiB]", MAX_LINE_BYTES >> 20)
                    .as_bytes(),
            );
            line.into()
        } else {
            bytes.into()
        };
        let bytes = &*marked;
        if let Some(tail) = &mut self.tail {
            if tail.lines.len() == tail.max {
                tail.lines.pop_front();
            }
            tail.lines
                .push_back(bytes[..bytes.len().min(TAIL_LINE_BYTES)].to_vec());
        }
        let ts = now_millis();
        let (events, text_only) = self.adapter.parse_line_searchable(bytes);
        let is_result = events.iter().any(|ev| matches!(ev, AgentEvent::Result(_)));
        // Past the per-run cap only the closing result line is still stored.
        let store = self.stored + bytes.len() as u64 <= self.cap || is_result;
        if store {
            self.stored += bytes.len() as u64;
            let words = text_only.then(|| {
                events.iter().filter_map(|ev| match ev {
                    AgentEvent::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
            });
            self.chunk.transcript.push_searchable(ts, bytes, words);
        }
        self.chunk.items.extend(events.into_iter().map(Item::Event));
        if !store && !self.capped {
            self.capped = true;
            let marker = format!(
                "[autopilot: transcript cap of {} MiB reached; later output is not stored, except the final result line]",
                self.cap >> 20
            );
            self.chunk.transcript.push(ts, marker.as_bytes());
            self.chunk.items.push(Item::Note(marker));
        }
    }
}

/// Reads the agent's stdout in large blocks, splits it into lines (each capped at
/// [`MAX_LINE_BYTES`]), parses each line, and hands batches to the writer. A batch goes as
/// soon as the writer has room; while it is busy the batch grows (up to [`FLUSH_BYTES`]), so
/// a flood is stored in few large transactions and a trickle shows line by line.
/// `last_output` is refreshed at every read for the stall detector. Returns the tail kept
/// ([`Ingest::with_tail`]), sanitized, one line per entry.
async fn read_output(
    stdout: Option<tokio::process::ChildStdout>,
    mut ingest: Ingest,
    run_id: i64,
    chunks: tokio::sync::mpsc::Sender<Chunk>,
    last_output: Arc<AtomicI64>,
    drain: CancellationToken,
) -> Vec<String> {
    let Some(mut out) = stdout else {
        return Vec::new();
    };
    let (mut buf, mut splitter) = (vec![0u8; READ_BYTES], LineSplitter::new(MAX_LINE_BYTES));
    loop {
        tokio::select! {
            biased;
            () = drain.cancelled() => break,
            permit = chunks.reserve(), if !ingest.chunk.is_empty() => match permit {
                Ok(permit) => permit.send(std::mem::take(&mut ingest.chunk)),
                Err(_) => return ingest.take_tail(),
            },
            read = out.read(&mut buf), if ingest.chunk.transcript.bytes() < FLUSH_BYTES
                && ingest.chunk.items.len() < FLUSH_ITEMS => {
                let n = match read {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(run_id, "reading agent output failed: {e}");
                        break;
                    }
                };
                last_output.store(now_millis(), Ordering::Relaxed);
                splitter.feed(&buf[..n], |line, dropped| ingest.line(line, dropped));
            }
        }
    }
    splitter.finish(|line, dropped| ingest.line(line, dropped));
    if !ingest.chunk.is_empty() {
        let _ = chunks.send(std::mem::take(&mut ingest.chunk)).await;
    }
    ingest.take_tail()
}

impl Ingest {
    /// The tail kept, as printable lines.
    fn take_tail(&mut self) -> Vec<String> {
        self.tail
            .take()
            .map(|t| {
                t.lines
                    .iter()
                    .map(|l| crate::domain::sanitize::strip_all(&String::from_utf8_lossy(l)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Where the writer stores batches and reports what they show.
pub(super) struct Writer {
    /// The store, for the cost estimate when no output carries it.
    pub db: Db,
    /// The process's transcript writer, which stores the lines.
    pub sink: Transcripts,
    /// Where pane lines, progress and problems go.
    pub events: tokio::sync::mpsc::UnboundedSender<RunnerEvent>,
    /// The slot whose pane shows the output.
    pub slot: usize,
    /// The run the transcript belongs to.
    pub run_id: i64,
    /// Renders the events for the pane.
    pub adapter: Arc<dyn Adapter>,
    /// The live cost estimate and the per-run cap.
    pub live: Live,
}

/// One process's output pipeline, running: the reader task (it returns the output's tail,
/// when the ingest keeps one), the writer task (the next transcript sequence number and what
/// was observed), the time of the last output for the stall detector, and the token that makes
/// the reader stop, keeping what it read.
pub(super) struct Pipeline {
    /// Reads, redacts, parses and batches stdout.
    pub reader: tokio::task::JoinHandle<Vec<String>>,
    /// Stores the batches, then shows them.
    pub writer: tokio::task::JoinHandle<(i64, Observed)>,
    /// When output last arrived (epoch ms).
    pub last_output: Arc<AtomicI64>,
    /// Stops the reader early.
    pub drain: CancellationToken,
}

impl Pipeline {
    /// Starts reading `stdout` into `ingest` and storing through `writer` from transcript
    /// sequence `seq`. The two tasks are joined by a short queue, so the pipe keeps draining
    /// while a batch commits, and the queue bounds memory.
    pub fn start(
        stdout: Option<tokio::process::ChildStdout>,
        ingest: Ingest,
        writer: Writer,
        seq: i64,
    ) -> Pipeline {
        let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(2);
        let last_output = Arc::new(AtomicI64::new(now_millis()));
        let drain = CancellationToken::new();
        let reader = tokio::spawn(read_output(
            stdout,
            ingest,
            writer.run_id,
            tx,
            Arc::clone(&last_output),
            drain.clone(),
        ));
        let writer = tokio::spawn(write_output(writer, seq, rx));
        Pipeline {
            reader,
            writer,
            last_output,
            drain,
        }
    }
}

/// Stores each batch (merging what is already queued into one transaction), then renders it
/// for the pane and folds its events into what the run observed: what a pane shows is always
/// already saved. Runs beside the reader, so parsing and storing overlap. Returns the next
/// transcript sequence number (counting from `seq`) and what was observed.
///
/// A batch the store refuses (another process holds the database past the lock timeout) is
/// kept and retried with the next one; past [`UNSAVED_MAX`] bytes, or once the run is over and
/// [`FINAL_ATTEMPTS`] more tries failed, lines are dropped and a marker line says how many.
async fn write_output(
    w: Writer,
    seq: i64,
    mut chunks: tokio::sync::mpsc::Receiver<Chunk>,
) -> (i64, Observed) {
    let Writer {
        db,
        sink,
        events,
        slot,
        run_id,
        adapter,
        mut live,
    } = w;
    let _joined = sink.join();
    let mut observed = Observed::default();
    let mut out = Unsaved::new(seq);
    let (mut open, mut final_attempts, mut backoff) = (true, 0, RETRY_MIN);
    loop {
        let wake = if !open {
            tokio::time::sleep(backoff).await;
            Wake::Retry
        } else if out.is_empty() {
            match live.unstored_for() {
                None => chunks.recv().await.map_or(Wake::Closed, Wake::Chunk),
                // An estimate held back by the throttle is stored even if no more output comes.
                Some(wait) => tokio::select! {
                    c = chunks.recv() => c.map_or(Wake::Closed, Wake::Chunk),
                    () = tokio::time::sleep(wait) => Wake::Estimate,
                },
            }
        } else {
            // Unsaved lines wait for the next batch or the next retry, whichever is first.
            tokio::select! {
                c = chunks.recv() => c.map_or(Wake::Closed, Wake::Chunk),
                () = tokio::time::sleep(backoff) => Wake::Retry,
            }
        };
        match wake {
            Wake::Chunk(mut chunk) => {
                while chunk.transcript.bytes() < FLUSH_BYTES {
                    match chunks.try_recv() {
                        Ok(more) => chunk.absorb(more),
                        Err(_) => break,
                    }
                }
                out.take(
                    chunk,
                    adapter.as_ref(),
                    (&mut observed, &mut live),
                    &events,
                    run_id,
                );
                live.check_cap();
                out.estimate = live.due(false).or(out.estimate);
            }
            Wake::Closed => open = false,
            Wake::Retry => backoff = (backoff * 2).min(RETRY_MAX),
            Wake::Estimate => live.store(&db, run_id, false).await,
        }
        if out.is_empty() {
            if open {
                continue;
            }
            break;
        }
        match out.store(&sink, run_id).await {
            Ok((lines, estimate)) => {
                backoff = RETRY_MIN;
                if let Some(usd) = estimate {
                    live.mark_stored(usd);
                }
                if !lines.is_empty() {
                    let _ = events.send(RunnerEvent::Output {
                        slot,
                        run_id,
                        lines,
                    });
                }
            }
            Err(e) => {
                final_attempts += u32::from(!open);
                let give_up = out.bytes() > UNSAVED_MAX || final_attempts >= FINAL_ATTEMPTS;
                let _ = events.send(RunnerEvent::Problem(if give_up {
                    format!("could not store agent output of run {run_id}: {e}; {} line(s) dropped", out.lines())
                } else {
                    format!("agent output of run {run_id} is not stored yet ({e}); keeping {} line(s) in memory and retrying", out.lines())
                }));
                if give_up {
                    out.drop_all();
                    if !open {
                        // Not even the marker could be stored: the problem above says it.
                        break;
                    }
                }
            }
        }
    }
    live.store(&db, run_id, true).await;
    (out.seq, observed)
}

/// What the writer woke up for.
enum Wake {
    Chunk(Chunk),
    Closed,
    Retry,
    /// The throttled estimate is due to be stored.
    Estimate,
}

/// Output read but not yet stored: the transcript lines, the pane lines they become once
/// saved, the session to record, and how many earlier lines had to be dropped.
struct Unsaved {
    seq: i64,
    batch: TranscriptBatch,
    pane: Vec<PaneLine>,
    session: Option<String>,
    /// The cost estimate due to be stored with the lines.
    estimate: Option<f64>,
    dropped: i64,
}

impl Unsaved {
    fn new(seq: i64) -> Unsaved {
        Unsaved {
            seq,
            batch: TranscriptBatch::default(),
            pane: Vec::new(),
            session: None,
            estimate: None,
            dropped: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.pane.is_empty() && self.dropped == 0
    }

    fn lines(&self) -> i64 {
        self.batch.lines()
    }

    fn bytes(&self) -> usize {
        self.batch.bytes()
    }

    /// Takes a batch in: its lines wait to be stored, its events are rendered by `adapter` and
    /// observed at once (the verdict must not depend on the store being free), and progress is
    /// reported.
    fn take(
        &mut self,
        chunk: Chunk,
        adapter: &dyn Adapter,
        (observed, live): (&mut Observed, &mut Live),
        events: &tokio::sync::mpsc::UnboundedSender<RunnerEvent>,
        run_id: i64,
    ) {
        self.batch.append(chunk.transcript);
        let (turns_before, mut cost) = (observed.turns, None);
        for item in chunk.items {
            match item {
                Item::Event(ev) => {
                    self.pane.extend(adapter.display(&ev));
                    match &ev {
                        AgentEvent::Result(res) => cost = Some((res.turns, res.cost_usd)),
                        AgentEvent::Init { session_id, .. } => {
                            self.session = Some(session_id.clone());
                        }
                        _ => {}
                    }
                    live.observe(&ev);
                    observed.observe(ev);
                }
                Item::Note(text) => self.pane.push(PaneLine {
                    kind: LineKind::Meta,
                    text,
                }),
            }
        }
        let estimate = live.changed();
        if observed.turns != turns_before || estimate.is_some() {
            let _ = events.send(RunnerEvent::Progress {
                run_id,
                turns: Some(observed.turns),
                cost_usd: None,
                estimate,
            });
        }
        if let Some((turns, cost_usd)) = cost {
            let _ = events.send(RunnerEvent::Progress {
                run_id,
                turns,
                cost_usd,
                estimate: None,
            });
        }
    }

    /// Gives up on the lines held, remembering how many for the marker.
    fn drop_all(&mut self) {
        self.dropped += self.batch.lines();
        self.batch = TranscriptBatch::default();
        self.pane.clear();
    }

    /// Stores what is held (after a marker for dropped lines, if any) with the other runs'
    /// output; on success returns the pane lines, which may now be shown, and the estimate
    /// stored with them.
    async fn store(
        &mut self,
        sink: &Transcripts,
        run_id: i64,
    ) -> Result<(Vec<PaneLine>, Option<f64>), crate::store::StoreError> {
        let mut marker = TranscriptBatch::default();
        let mut pane = Vec::new();
        if self.dropped > 0 {
            let text = format!(
                "[autopilot: {} line(s) of output were dropped here: the database stayed locked by another process]",
                self.dropped
            );
            marker.push(now_millis(), text.as_bytes());
            pane.push(PaneLine {
                kind: LineKind::Meta,
                text,
            });
        }
        let append = Append {
            run_id,
            first_seq: self.seq,
            batches: vec![marker, std::mem::take(&mut self.batch)],
            session: self.session.clone(),
            estimate: self.estimate,
        };
        match sink.append(append).await {
            Ok(lines) => {
                self.seq += lines;
                self.dropped = 0;
                self.session = None;
                pane.append(&mut self.pane);
                Ok((pane, self.estimate.take()))
            }
            Err(super::transcripts::Refused {
                error,
                append: Some(mut append),
            }) => {
                self.batch = append.batches.pop().unwrap_or_default();
                Err(error)
            }
            Err(super::transcripts::Refused { error, .. }) => {
                // The writer's thread is gone and took the lines with it.
                self.drop_all();
                Err(error)
            }
        }
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
