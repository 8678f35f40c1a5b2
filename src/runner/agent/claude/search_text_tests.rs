//! The searchable text an assistant line's own parse gives the index, against the store's walk.

use super::*;

/// The text the ingest indexes from a parse it already made is the text the store's own
/// walk over the line would index, for every line of the real transcripts and for odd
/// ones; lines whose parse keeps less (tool calls, results, errors) take the walk.
#[test]
fn searchable_parse_gives_the_index_the_same_text_as_the_walk() {
    use crate::domain::transcript_text::{push_search_parts, push_search_text};
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-stream-json"
    );
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for name in [
        "implement.jsonl",
        "blocked.jsonl",
        "bash.jsonl",
        "error.jsonl",
        "slow.jsonl",
    ] {
        let data = std::fs::read(format!("{dir}/{name}")).unwrap();
        lines.extend(data.split(|b| *b == b'\n').map(<[u8]>::to_vec));
    }
    let odd = [
        r#"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"a\u001b[31mred\u0007"},{"type":"text","text":""},{"type":"text","text":"two\nlines"}]}}"#.to_string(),
        format!(r#"{{"type":"assistant","message":{{"content":[{{"type":"text","text":"{}"}}]}}}}"#, "é".repeat(40_000)),
        r#"{"type":"assistant","message":{"content":[{"type":"text","text":"x"},{"type":"thinking","thinking":"hidden"}]}}"#.into(),
        r#"{"type":"assistant","error":"rate_limit","message":{"content":[{"type":"text","text":"API Error"}]}}"#.into(),
        r#"{"type":"assistant","message":{"content":[]}}"#.into(),
    ];
    lines.extend(odd.iter().map(|l| l.as_bytes().to_vec()));
    let mut fast = 0;
    for line in &lines {
        let (events, text_only) = parse_line_searchable(line);
        let mut walked = String::from("before");
        push_search_text(line, &mut walked);
        if !text_only {
            continue;
        }
        fast += 1;
        let mut parsed = String::from("before");
        let texts = events.iter().filter_map(|ev| match ev {
            AgentEvent::Text { text, .. } => Some(text.as_str()),
            _ => None,
        });
        push_search_parts(texts, &mut parsed);
        assert_eq!(parsed, walked, "line: {}", String::from_utf8_lossy(line));
    }
    // The real transcripts' text-only answers and the first two odd lines.
    assert!(fast >= 8, "only {fast} lines took the parsed path");
    let (_, text_only) = parse_line_searchable(odd[2].as_bytes());
    assert!(!text_only, "a thinking block is not a text block");
    let (_, text_only) = parse_line_searchable(odd[3].as_bytes());
    assert!(!text_only, "an API error is not the agent's words");
}
