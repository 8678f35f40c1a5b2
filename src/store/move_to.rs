//! Moving a queue: every row of an SQLite store copied into an empty PostgreSQL one, in one
//! transaction that counts each table on both sides before it commits. The SQLite file is only
//! read.

use super::sql::{Backend, Exec, Row, Value};
use super::{Result, Store, StoreError};

/// The tables copied, parents before children. Issues are copied without their links to other
/// issues first (a parent can have a larger id than its child), then the links are set.
const TABLES: &[&str] = &[
    "issues",
    "issue_deps",
    "comments",
    "runs",
    "run_models",
    "transcript_chunks",
    "events",
    "settings",
    "learnings",
    "needs",
    "pending_secrets",
];

/// Columns of `issues` that name another issue.
const ISSUE_LINKS: &[&str] = &["parent_id", "previous_id"];

/// Tables whose id PostgreSQL generates: their sequences continue after the copied ids.
const IDENTITIES: &[&str] = &[
    "issues",
    "comments",
    "runs",
    "transcript_chunks",
    "events",
    "learnings",
];

/// Rows read and inserted at a time (transcript chunks, up to 256 KiB each, fewer).
const BATCH: usize = 200;
/// Transcript chunks read and inserted at a time.
const CHUNK_BATCH: usize = 16;

/// How many rows of each table were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// `(table, rows)` in copy order.
    pub tables: Vec<(&'static str, i64)>,
    /// Transcript chunks whose search text was copied.
    pub search_rows: i64,
}

impl Store {
    /// Copies this SQLite store into `to`, a PostgreSQL store without a row in any table it
    /// copies, from one snapshot, and checks every table's count before committing. Nothing
    /// is written here.
    pub fn move_to(&self, to: &mut Store) -> Result<Moved> {
        let from = self.db();
        if from.backend() != Backend::Sqlite {
            return Err(StoreError::Invalid(format!(
                "{} is not an SQLite store: migrate copies an SQLite queue into PostgreSQL",
                self.path.display()
            )));
        }
        if to.db().backend() != Backend::Postgres {
            return Err(StoreError::Invalid(format!(
                "{} is not a PostgreSQL database: migrate --to takes a postgres:// URL",
                to.path.display()
            )));
        }
        let target = to.path.display().to_string();
        // One read transaction: every table is read from the same snapshot of the file, even
        // while a runner still writes to it (WAL readers never block, nor are blocked).
        from.execute_batch("BEGIN")?;
        let moved = self.copy_into(to, &target);
        // Ending a read-only transaction writes nothing; the copy's own error is the news.
        let _ = from.execute_batch("ROLLBACK");
        moved
    }

    /// [`Store::move_to`] inside the source's read transaction.
    fn copy_into(&self, to: &mut Store, target: &str) -> Result<Moved> {
        let from = self.db();
        to.write(|tx| {
            // Any row already there (even a setting, as `pause` on the server writes) would
            // mix two queues, or fail half-way on a key: the copy starts from nothing only.
            for table in TABLES {
                let n = count(tx, table)?;
                if n > 0 {
                    return Err(StoreError::Invalid(format!(
                        "{target} is not empty ({table} has {n} rows); migrate copies into an empty database only — nothing was copied. Create a new database (createdb) and give its URL to --to"
                    )));
                }
            }
            let mut tables = Vec::new();
            for table in TABLES {
                let copied = copy_table(from, tx, table)?;
                tables.push((*table, copied));
            }
            relink(from, tx)?;
            let search_rows = copy_transcript_search(from, tx)?;
            for table in IDENTITIES {
                let next = next_id(from, table)?;
                tx.execute(
                    &format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), ?1, false)"),
                    &[Value::Int(next)],
                )?;
            }
            for (table, copied) in &tables {
                let there = count(tx, table)?;
                let here = count(from, table)?;
                if there != here || there != *copied {
                    return Err(StoreError::Invalid(format!(
                        "{table}: {here} rows in the SQLite store but {there} in {target} after the copy; nothing was committed"
                    )));
                }
            }
            Ok(Moved {
                tables,
                search_rows,
            })
        })
    }
}

/// Copies one table page by page (by id where it has one, so a large transcript table is never
/// held whole), returning how many rows were copied.
fn copy_table(from: &impl Exec, tx: &impl Exec, table: &str) -> Result<i64> {
    let columns = columns(from, table)?;
    let list = columns.join(", ");
    let Some(id) = columns.iter().position(|c| c == "id") else {
        let rows = from.query(&format!("SELECT {list} FROM {table}"), &[])?;
        insert(tx, table, &columns, &rows, BATCH)?;
        return Ok(rows.len() as i64);
    };
    let batch = if table == "transcript_chunks" {
        CHUNK_BATCH
    } else {
        BATCH
    };
    let (mut after, mut copied) = (i64::MIN, 0);
    loop {
        let rows = from.query(
            &format!("SELECT {list} FROM {table} WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[Value::Int(after), Value::from(batch)],
        )?;
        let Some(last) = rows.last() else {
            return Ok(copied);
        };
        after = last.get(id)?;
        copied += rows.len() as i64;
        match table {
            "issues" => {
                let (columns, rows) = unlink(&columns, rows);
                insert(tx, table, &columns, &rows, batch)?;
            }
            "events" => insert(tx, table, &columns, &nul_free_data(&columns, rows), batch)?,
            _ => insert(tx, table, &columns, &rows, batch)?,
        }
    }
}

impl Store {
    /// The schema version of the SQLite file at `path`, read without writing anything.
    pub fn sqlite_schema_version(path: &std::path::Path) -> Result<i64> {
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags)?;
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// The id SQLite would give `table`'s next row: after the largest one, and for an
/// AUTOINCREMENT table (events) after the largest it ever gave, deleted rows included.
fn next_id(from: &impl Exec, table: &str) -> Result<i64> {
    let max: i64 = from.query_row(
        &format!("SELECT coalesce(max(id), 0) FROM {table}"),
        &[],
        |r| r.get(0),
    )?;
    let autoincrement: bool = from.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'sqlite_sequence'",
        &[],
        |r| r.get(0),
    )?;
    let given: Option<i64> = if autoincrement {
        from.query_opt(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            &[Value::from(table)],
            |r| r.get(0),
        )?
    } else {
        None
    };
    Ok(max.max(given.unwrap_or(0)) + 1)
}

fn count(c: &impl Exec, table: &str) -> Result<i64> {
    Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?)
}

/// The SQLite table's columns, in order.
fn columns(from: &impl Exec, table: &str) -> Result<Vec<String>> {
    Ok(from.query_map(
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        &[Value::from(table)],
        |r| r.get(0),
    )?)
}

/// Issue rows without the columns that point at other issues (set by [`relink`]).
fn unlink(columns: &[String], rows: Vec<Row>) -> (Vec<String>, Vec<Row>) {
    let keep: Vec<usize> = (0..columns.len())
        .filter(|&i| !ISSUE_LINKS.contains(&columns[i].as_str()))
        .collect();
    let columns = keep.iter().map(|&i| columns[i].clone()).collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            Row::from(
                keep.iter()
                    .map(|&i| r.values()[i].clone())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    (columns, rows)
}

/// Event rows whose JSON `data` holds no `\u0000`, which PostgreSQL's `jsonb` refuses (see
/// [`super::events::without_nul_escapes`]): the NUL becomes U+2400, as it does in every text.
fn nul_free_data(columns: &[String], rows: Vec<Row>) -> Vec<Row> {
    let Some(data) = columns.iter().position(|c| c == "data") else {
        return rows;
    };
    rows.into_iter()
        .map(|row| {
            let mut values = row.values().to_vec();
            if let Some(Value::Text(text)) = values.get_mut(data) {
                *text = super::events::without_nul_escapes(text).into_owned();
            }
            Row::from(values)
        })
        .collect()
}

/// Sets every issue's parent and previous occurrence once all issues exist.
fn relink(from: &impl Exec, tx: &impl Exec) -> Result<()> {
    let links = from.query(
        "SELECT id, parent_id, previous_id FROM issues
         WHERE parent_id IS NOT NULL OR previous_id IS NOT NULL",
        &[],
    )?;
    for link in links {
        tx.execute(
            "UPDATE issues SET parent_id = ?2, previous_id = ?3 WHERE id = ?1",
            link.values(),
        )?;
    }
    Ok(())
}

/// Inserts `rows` in batches of multi-row statements.
fn insert(
    tx: &impl Exec,
    table: &str,
    columns: &[String],
    rows: &[Row],
    batch: usize,
) -> Result<()> {
    let width = columns.len();
    for batch in rows.chunks(batch) {
        let tuples: Vec<String> = (0..batch.len())
            .map(|r| {
                let marks: Vec<String> =
                    (1..=width).map(|c| format!("?{}", r * width + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            tuples.join(", ")
        );
        let params: Vec<Value> = batch
            .iter()
            .flat_map(|r| r.values().iter().cloned())
            .collect();
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

/// A transcript chunk's rendered search text is written by the store next to the chunk, not by
/// a trigger (issues' and comments' are): it is copied as it is.
fn copy_transcript_search(from: &impl Exec, tx: &impl Exec) -> Result<i64> {
    let rows = from.query(
        "SELECT rowid, text, source, issue_id, run_id FROM search_index WHERE rowid % 4 = 3",
        &[],
    )?;
    let columns: Vec<String> = ["id", "text", "source", "issue_id", "run_id"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    insert(tx, "search_index", &columns, &rows, BATCH)?;
    Ok(rows.len() as i64)
}
