//! Full-text search at scale: 100,000 issues and 10,000,000 transcript lines (stream-json,
//! words drawn from a skewed vocabulary), every chunk written through `Store::append_transcript`
//! (which indexes it). Measured: `Store::search` (rank, snippet, sanitizing) against a bare FTS5
//! `MATCH … ORDER BY rank LIMIT 20` on the same table, interleaved, median of many; and the
//! store's transcript write with indexing against a bare insert of the same chunks (what
//! `append_transcript` did before the index).
//!
//! `cargo bench --bench search` (`BENCH_SEARCH_LINES=1000000` for a quick run; set-up of the
//! full 10,000,000 lines takes a few minutes and about 4 GB of disk in a temp dir).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use autopilot_tui::store::{Store, TranscriptBatch};
use common::*;

/// Lines per stored chunk (the ingest's batches hold up to a few thousand).
const CHUNK_LINES: u64 = 1_000;
/// Chunks per run.
const CHUNKS_PER_RUN: u64 = 10;
/// Times each query is run (interleaved with its baseline).
const REPEATS: usize = 30;

/// A deterministic xorshift generator: the same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "ex", "do", "fi", "gu", "ha",
];

/// Word `i` of a 4,096-word vocabulary.
fn word(i: u64) -> String {
    (0..3)
        .map(|k| SYLLABLES[((i >> (4 * k)) & 15) as usize])
        .collect()
}

/// Transcript line `n`: 80 % assistant text, 20 % tool results, a dozen words each, the
/// vocabulary skewed so some words are everywhere and most are rare. Every 1,000,000th line
/// holds `needleword`, every 100,000th `midword`.
fn line(rng: &mut Rng, n: u64) -> String {
    let mut words: Vec<String> = (0..12)
        .map(|_| {
            let r = rng.next() % 4096;
            word(r * r / 4096)
        })
        .collect();
    if n % 1_000_000 == 500_000 {
        words[5] = "needleword".into();
    } else if n % 100_000 == 50_000 {
        words[5] = "midword".into();
    }
    let text = words.join(" ");
    if n % 5 == 0 {
        format!(
            r#"{{"type":"user","message":{{"role":"user","content":[{{"tool_use_id":"toolu_{n}","type":"tool_result","content":"{text}","is_error":false}}]}},"parent_tool_use_id":null,"session_id":"bench"}}"#
        )
    } else {
        format!(
            r#"{{"type":"assistant","message":{{"id":"msg_{n}","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{{"type":"text","text":"{text}"}}],"stop_reason":null}},"parent_tool_use_id":null,"session_id":"bench"}}"#
        )
    }
}

fn batch(rng: &mut Rng, first: u64) -> TranscriptBatch {
    let mut b = TranscriptBatch::default();
    for n in first..first + CHUNK_LINES {
        b.push(1_700_000_000_000, line(rng, n).as_bytes());
    }
    b
}

/// Adds `runs` runs (issues 1..=runs) with plain SQL: set-up.
fn add_runs(db: &std::path::Path, runs: u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO runs (id, issue_id, agent_id, slot, started_at, ended_at)
         SELECT value, value, 'bench', 0, 1, 2 FROM generate_series(1, ?1)",
        [runs],
    )
    .unwrap_or_else(|_| {
        // generate_series is not in every build: a recursive CTE does the same.
        conn.execute(
            "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ?1)
             INSERT INTO runs (id, issue_id, agent_id, slot, started_at, ended_at)
             SELECT v, v, 'bench', 0, 1, 2 FROM s",
            [runs],
        )
        .unwrap()
    });
}

/// Store write with indexing vs a bare insert of the same chunks, `lines` lines each.
fn ingest(lines: u64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    seed(&a, 100, 0);
    seed(&b, 100, 0);
    add_runs(&a, 100);
    add_runs(&b, 100);
    let mut store = Store::open(&a).unwrap();
    let bare = rusqlite::Connection::open(&b).unwrap();
    bare.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut t_store, mut t_bare) = (Duration::ZERO, Duration::ZERO);
    let mut first = 0;
    while first < lines {
        let chunk = batch(&mut rng, first);
        let run = (first / CHUNK_LINES % 100 + 1) as i64;
        let seq = (first / CHUNK_LINES / 100 * CHUNK_LINES) as i64;
        let data = chunk.as_bytes().to_vec();
        let start = Instant::now();
        store
            .append_transcript(run, seq, std::slice::from_ref(&chunk))
            .unwrap();
        t_store += start.elapsed();
        let start = Instant::now();
        bare.execute("BEGIN IMMEDIATE", []).unwrap();
        bare.prepare_cached(
            "INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .unwrap()
        .execute(rusqlite::params![run, seq, CHUNK_LINES as i64, 1_700_000_000_000i64, data])
        .unwrap();
        bare.execute("COMMIT", []).unwrap();
        t_bare += start.elapsed();
        first += CHUNK_LINES;
    }
    (t_store, t_bare)
}

fn main() {
    let lines = env_num("BENCH_SEARCH_LINES", 10_000_000);
    let issues = 100_000;

    // The write path first, on small databases of their own.
    let ingest_lines = lines.min(1_000_000);
    let (w_store, w_bare) = ingest(ingest_lines);
    println!(
        "ingest {ingest_lines} lines: store {} (indexing), bare insert {}",
        ms(w_store),
        ms(w_bare)
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("autopilot.db");
    let start = Instant::now();
    seed(&db, issues, 0);
    let runs = lines.div_ceil(CHUNK_LINES * CHUNKS_PER_RUN);
    add_runs(&db, runs);
    let mut store = Store::open(&db).unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut first = 0;
    let mut write = Duration::ZERO;
    while first < lines {
        let chunk = batch(&mut rng, first);
        let run = (first / (CHUNK_LINES * CHUNKS_PER_RUN) + 1) as i64;
        let seq = (first % (CHUNK_LINES * CHUNKS_PER_RUN)) as i64;
        let t = Instant::now();
        store
            .append_transcript(run, seq, std::slice::from_ref(&chunk))
            .unwrap();
        write += t.elapsed();
        first += CHUNK_LINES;
        if first % 1_000_000 == 0 {
            eprintln!(
                "  {first} lines stored ({:.0} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(db.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "set-up: {issues} issues, {lines} lines in {:.0} s ({:.0} s in append_transcript), database {:.0} MB",
        start.elapsed().as_secs_f64(),
        write.as_secs_f64(),
        size as f64 / 1e6
    );

    let bare = rusqlite::Connection::open(&db).unwrap();
    let mut rows = Vec::new();
    for (label, q) in [
        ("a rare word (10 lines)", "needleword"),
        ("a word in 100 lines", "midword"),
        ("a frequent word (in most chunks)", word(0).as_str()),
        (
            "a phrase of two frequent words",
            &format!("\"{} {}\"", word(0), word(1)),
        ),
        ("a prefix", &format!("{}*", &word(7)[..4])),
        ("rare OR mid", "needleword OR midword"),
        ("a title", "\"Card-054321\""),
    ] {
        let (mut ours, mut base, mut naive) = (Vec::new(), Vec::new(), Vec::new());
        let mut hits = 0;
        for _ in 0..REPEATS {
            let t = Instant::now();
            hits = store.search(q, 20).unwrap().len();
            ours.push(t.elapsed());
            let t = Instant::now();
            let mut stmt = bare
                .prepare_cached(
                    "SELECT rowid FROM search_index WHERE search_index MATCH ?1 ORDER BY rank LIMIT 20",
                )
                .unwrap();
            let n = stmt.query_map([q], |r| r.get::<_, i64>(0)).unwrap().count();
            base.push(t.elapsed());
            assert_eq!(n, hits, "{q}");
            let t = Instant::now();
            let mut stmt = bare
                .prepare_cached(
                    "SELECT rowid, snippet(search_index, 0, '[', ']', '…', 12) FROM search_index
                     WHERE search_index MATCH ?1 ORDER BY rank LIMIT 20",
                )
                .unwrap();
            let n = stmt
                .query_map([q], |r| r.get::<_, String>(1))
                .unwrap()
                .count();
            naive.push(t.elapsed());
            assert_eq!(n, hits, "{q}");
        }
        let (o, b, n) = (median(ours), median(base), median(naive));
        let ratio = o.as_secs_f64() / b.as_secs_f64();
        rows.push(Row {
            what: format!("search {label}: `{q}`, {hits} hits"),
            figure: ms(o),
            baseline: format!(
                "{} bare `MATCH … ORDER BY rank LIMIT 20` (with `snippet()` in the same statement: {})",
                ms(b),
                ms(n)
            ),
            ratio: format!("{ratio:.2}× ({:.2}×)", o.as_secs_f64() / n.as_secs_f64()),
            target: "—".into(),
            met: None,
        });
    }
    let ratio = w_store.as_secs_f64() / w_bare.as_secs_f64();
    rows.push(Row {
        what: format!(
            "transcript write, {ingest_lines} stream-json lines in chunks of {CHUNK_LINES}"
        ),
        figure: format!(
            "{} ({:.2} µs/line) with indexing",
            ms(w_store),
            w_store.as_secs_f64() * 1e6 / ingest_lines as f64
        ),
        baseline: format!(
            "{} ({:.2} µs/line) bare INSERT of the same chunks",
            ms(w_bare),
            w_bare.as_secs_f64() * 1e6 / ingest_lines as f64
        ),
        ratio: format!("{ratio:.2}×"),
        target: "—".into(),
        met: None,
    });
    print_table(
        &format!("search ({issues} issues, {lines} transcript lines)"),
        &rows,
    );
}
