//! Search on PostgreSQL: the user's query (FTS5's syntax, as on SQLite) read here and written
//! as a `tsquery` whose every term is a quoted lexeme, so no user text is ever read as tsquery
//! syntax; hits ranked by `ts_rank`, snippets by `ts_headline` with SQLite's marks.

use super::schema_pg::{FOLD_FROM, FOLD_TO};
use super::search::RawHit;
use super::sql::{vals, Conn, Exec};
use super::Result;
use super::SearchSource;

/// Words in a snippet, as SQLite's `snippet(…, 12)` gives.
const SNIPPET_WORDS: usize = 12;
/// Words shown before the first match when the text is longer than a snippet.
const SNIPPET_LEAD: usize = 3;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A word or a quoted phrase, and whether a `*` follows it.
    Term(String, bool),
}

fn tokens(query: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                out.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '*' => return Err("a * must follow a word (pars*)".into()),
            '"' => {
                chars.next();
                let mut phrase = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a \" is not closed".into()),
                        // FTS5's escape for a quote inside a phrase.
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            phrase.push('"');
                        }
                        Some('"') => break,
                        Some(c) => phrase.push(c),
                    }
                }
                let prefix = chars.next_if_eq(&'*').is_some();
                out.push(Token::Term(phrase, prefix));
            }
            _ => {
                let mut word = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !"\"()*".contains(*c)) {
                    if c == ':' {
                        return Err(format!(
                            "{word}: looks like a column filter, which search does not have; quote it (\"{word}:\")"
                        ));
                    }
                    word.push(c);
                }
                let prefix = chars.next_if_eq(&'*').is_some();
                out.push(match word.as_str() {
                    "AND" if !prefix => Token::And,
                    "OR" if !prefix => Token::Or,
                    "NOT" if !prefix => Token::Not,
                    _ => Token::Term(word, prefix),
                });
            }
        }
    }
    Ok(out)
}

/// A recursive-descent reader of FTS5's precedence: NOT binds tighter than AND (also implied
/// between terms), AND tighter than OR.
struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<String, String> {
        let mut out = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            out = format!("({out} | {})", self.and()?);
        }
        Ok(out)
    }

    fn and(&mut self) -> Result<String, String> {
        let mut out = self.not()?;
        loop {
            match self.peek() {
                Some(Token::And) => self.at += 1,
                Some(Token::Term(..) | Token::Open) => {}
                _ => return Ok(out),
            }
            out = format!("({out} & {})", self.not()?);
        }
    }

    fn not(&mut self) -> Result<String, String> {
        let mut out = self.primary()?;
        while self.peek() == Some(&Token::Not) {
            self.at += 1;
            out = format!("({out} & !{})", self.primary()?);
        }
        Ok(out)
    }

    fn primary(&mut self) -> Result<String, String> {
        let token = self.peek().cloned();
        self.at += 1;
        match token {
            Some(Token::Term(text, prefix)) => Ok(term(&text, prefix)),
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a ( is not closed".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Close) => Err("a ) closes nothing".into()),
            Some(op) => Err(format!("{op:?} needs a term before and after it").to_uppercase()),
            None => Err("the query ends where a term is expected".into()),
        }
    }
}

/// One term as a quoted tsquery lexeme (PostgreSQL's parser splits it as it split the text,
/// so `"foo-bar"` and `"two words"` match as phrases), with `:*` for a prefix.
fn term(text: &str, prefix: bool) -> String {
    // Punctuation separates words, as in the indexed text (`autopilot_words`).
    let words: String = text
        .chars()
        .map(|c| if c.is_ascii_punctuation() { ' ' } else { c })
        .collect();
    let quoted = words.replace('\\', "\\\\").replace('\'', "''");
    format!("'{quoted}'{}", if prefix { ":*" } else { "" })
}

/// The tsquery text for a user's `query`, or why it cannot be read.
pub(super) fn tsquery(query: &str) -> Result<String, String> {
    let mut reader = Reader {
        tokens: tokens(query)?,
        at: 0,
    };
    if reader.tokens.is_empty() {
        return Err("it is empty".into());
    }
    let out = reader.or()?;
    match reader.peek() {
        None => Ok(out),
        Some(Token::Close) => Err("a ) closes nothing".into()),
        Some(other) => Err(format!("unexpected {other:?}")),
    }
}

/// The best `limit` hits of `tsquery` (from [`tsquery`] of `query`), best first, with
/// snippets made here as SQLite's `snippet()` makes them (PostgreSQL's `ts_headline` reads
/// words with its own parser, which keeps `quokka.rs` whole).
pub(super) fn search(db: &Conn, query: &str, tsquery: &str, limit: i64) -> Result<Vec<RawHit>> {
    let best: Vec<i64> = db.query_map(
        "SELECT id FROM search_index, to_tsquery('simple', autopilot_fold(?1)) q WHERE tsv @@ q
         ORDER BY ts_rank(tsv, q) DESC, id LIMIT ?2",
        vals![tsquery, limit.max(0)],
        |r| r.get(0),
    )?;
    let marks = marked_words(query);
    let mut rows = Vec::with_capacity(best.len());
    for id in best {
        let (source, issue_id, run_id, text): (String, i64, Option<i64>, String) = db.query_row(
            "SELECT source, issue_id, run_id, text FROM search_index WHERE id = ?1",
            vals![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        rows.push((
            SearchSource::parse(&source),
            issue_id,
            run_id,
            snippet(&text, &marks),
        ));
    }
    Ok(rows)
}

/// A letter as search compares it: lower case, Latin accents folded (as `autopilot_fold`).
fn fold(c: char) -> char {
    // Most text is ASCII, and a snippet folds every word up to the first match.
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    let plain = FOLD_FROM
        .chars()
        .zip(FOLD_TO.chars())
        .find_map(|(from, to)| (from == lower).then_some(to));
    plain.unwrap_or(lower)
}

/// Words as the index reads them (runs of letters and digits), with their byte ranges.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The query's words, folded, each with whether it is a prefix (the last word of a `term*`).
fn marked_words(query: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for token in tokens(query).unwrap_or_default() {
        let Token::Term(text, prefix) = token else {
            continue;
        };
        let found = words(&text);
        let n = found.len();
        for (i, (a, b)) in found.into_iter().enumerate() {
            out.push((text[a..b].chars().map(fold).collect(), prefix && i + 1 == n));
        }
    }
    out
}

/// Up to [`SNIPPET_WORDS`] words of `text` around its first match, matches between U+E000 and
/// U+E001, `…` where text was left out.
fn snippet(text: &str, marks: &[(String, bool)]) -> String {
    let found = words(text);
    let is_mark = |&(a, b): &(usize, usize)| {
        let word: String = text[a..b].chars().map(fold).collect();
        marks.iter().any(|(m, prefix)| {
            if *prefix {
                word.starts_with(m.as_str())
            } else {
                word == *m
            }
        })
    };
    let first = found.iter().position(is_mark).unwrap_or(0);
    let start = first
        .saturating_sub(SNIPPET_LEAD)
        .min(found.len().saturating_sub(SNIPPET_WORDS));
    let end = (start + SNIPPET_WORDS).min(found.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = found.get(start).map_or(0, |w| w.0);
    for w in &found[start..end] {
        out.push_str(&text[at..w.0]);
        if is_mark(w) {
            out.push('\u{e000}');
            out.push_str(&text[w.0..w.1]);
            out.push('\u{e001}');
        } else {
            out.push_str(&text[w.0..w.1]);
        }
        at = w.1;
    }
    if end < found.len() {
        out.push('…');
    } else {
        out.push_str(&text[at..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tsquery;
    use crate::domain::redact::Redactor;
    use crate::store::sql::Exec;
    use crate::store::test_db::fresh_postgres;
    use crate::store::{SearchSource, Store, StoreError};

    /// Search on a real server, rows written as the triggers and the transcript writer do.
    #[test]
    fn postgres_finds_words_phrases_prefixes_and_combinations_with_marked_snippets() {
        let Some(url) = fresh_postgres() else { return };
        let mut store = Store::open_url(&url, Redactor::builtin()).unwrap();
        store
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO issues (id, title, body, kind, status, created_at, updated_at) VALUES
                       (1, 'Parser crashes on emoji', 'the lexer panics at foo-bar', 'bug', 'ready', 1, 1),
                       (2, 'Docs', 'write the parsing guide', 'chore', 'ready', 1, 1);
                     INSERT INTO comments (id, issue_id, author, author_kind, body, created_at)
                       VALUES (1, 2, 'me', 'human', 'it''s about the tokenizer', 1);
                     INSERT INTO runs (id, issue_id, agent_id, slot, started_at) VALUES (7, 2, 'a', 0, 1);
                     INSERT INTO transcript_chunks (id, run_id, first_seq, lines, ts, data)
                       VALUES (3, 7, 0, 1, 1, '\\x00')",
                )?;
                super::super::search::index_chunk(
                    tx,
                    &Redactor::builtin(),
                    (3, b"", Some("ran cargo test, all green")),
                    2,
                    7,
                )
            })
            .unwrap();
        let found = |q: &str| -> Vec<(i64, SearchSource, Option<i64>)> {
            store
                .search(q, 10)
                .unwrap()
                .into_iter()
                .map(|h| (h.issue_id, h.source, h.run_id))
                .collect()
        };
        assert_eq!(
            found("parser"),
            vec![(1, SearchSource::Title)]
                .into_iter()
                .map(|(i, s)| (i, s, None))
                .collect::<Vec<_>>()
        );
        assert_eq!(found("PARS*").len(), 2, "prefix, any case");
        assert_eq!(
            found("\"lexer panics\""),
            vec![(1, SearchSource::Body, None)]
        );
        assert_eq!(found("\"panics lexer\""), vec![]);
        assert_eq!(found("\"foo-bar\""), vec![(1, SearchSource::Body, None)]);
        assert_eq!(found("tokenizer OR emoji").len(), 2);
        assert_eq!(
            found("pars* NOT guide"),
            vec![(1, SearchSource::Title, None)]
        );
        assert_eq!(found("it's"), vec![(2, SearchSource::Comment, None)]);
        assert_eq!(found("green"), vec![(2, SearchSource::Transcript, Some(7))]);
        let hit = store.search("emoji", 10).unwrap().remove(0);
        assert!(hit.snippet.contains("[emoji]"), "{}", hit.snippet);
        assert!(
            hit.parts.contains(&("emoji".to_string(), true)),
            "{:?}",
            hit.parts
        );
        for q in ["\"open", "AND", "*", "a NEAR("] {
            assert!(
                matches!(store.search(q, 10), Err(StoreError::BadQuery { .. })),
                "{q}"
            );
        }
    }

    #[test]
    fn the_query_syntax_becomes_quoted_lexemes() {
        assert_eq!(tsquery("parser").unwrap(), "'parser'");
        assert_eq!(tsquery("a b").unwrap(), "('a' & 'b')");
        assert_eq!(tsquery("a OR b c").unwrap(), "('a' | ('b' & 'c'))");
        assert_eq!(tsquery("a NOT b").unwrap(), "('a' & !'b')");
        assert_eq!(tsquery("pars*").unwrap(), "'pars':*");
        assert_eq!(tsquery("\"two words\"").unwrap(), "'two words'");
        assert_eq!(tsquery("(a OR b) AND c").unwrap(), "(('a' | 'b') & 'c')");
        // Punctuation separates words, as in the indexed text; quotes are escaped.
        assert_eq!(
            tsquery("it's \\ & | !x quokka.rs").unwrap(),
            "((((('it s' & ' ') & ' ') & ' ') & ' x') & 'quokka rs')"
        );
    }

    #[test]
    fn a_query_that_cannot_be_read_says_why() {
        for q in [
            "\"open",
            "AND",
            "*",
            "nosuchcolumn: x",
            "a NEAR(",
            "a OR",
            "(a",
            "a)",
            "NOT a",
            "",
        ] {
            let err = tsquery(q).unwrap_err();
            assert!(!err.is_empty(), "{q}");
        }
    }
}
