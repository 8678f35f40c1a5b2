//! `migrate --to postgres://…`: moves this SQLite queue into an empty PostgreSQL database.

use std::io::Write;

use anyhow::bail;

use super::Ctx;
use crate::store::sql::StoreUrl;
use crate::store::{Store, SCHEMA_VERSION};

/// Copies the queue and prints what was copied.
pub(super) fn run(ctx: &Ctx, out: &mut impl Write, to: &str) -> anyhow::Result<()> {
    let target: StoreUrl = to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let StoreUrl::Postgres(_) = &target else {
        bail!("--to {target}: migrate copies into PostgreSQL; give a postgres:// URL");
    };
    let StoreUrl::Sqlite(path) = &ctx.config.paths.db else {
        bail!(
            "the queue is already on PostgreSQL ({}); migrate copies an SQLite queue (--db PATH)",
            ctx.config.paths.db
        );
    };
    if !path.is_file() {
        bail!(
            "{}: no SQLite queue there to copy; give the queue's file with --db PATH (a clone's own is .autopilot/autopilot.db)",
            path.display()
        );
    }
    // Opening an older file would upgrade it in place: the file is left as it is instead.
    let version = Store::sqlite_schema_version(path)?;
    if version != SCHEMA_VERSION {
        bail!(
            "{} has schema version {version}, this build writes {SCHEMA_VERSION}; run any command on it first (e.g. `autopilot-tui --db {} list`) to upgrade it, then migrate",
            path.display(),
            path.display()
        );
    }
    let source = ctx.store()?;
    let mut dest = Store::open_url(&target, std::sync::Arc::clone(&ctx.config.redactor))?;
    let moved = source.move_to(&mut dest)?;
    let counts: Vec<String> = moved
        .tables
        .iter()
        .map(|(table, n)| format!("{table} {n}"))
        .collect();
    writeln!(out, "copied {} into {target}", path.display())?;
    writeln!(out, "rows: {}", counts.join(", "))?;
    writeln!(
        out,
        "transcript search rows: {}; every table's count checked on both sides; {} was only read",
        moved.search_rows,
        path.display()
    )?;
    writeln!(
        out,
        "next: point every box at it (AUTOPILOT_DB={target} or [store] url) — see README \"Many boxes\""
    )?;
    Ok(())
}
