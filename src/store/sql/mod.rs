//! The portable SQL layer a second store backend is built on: one body of SQL, written in the
//! subset SQLite 3.35+ and PostgreSQL 15 share (`RETURNING`, `ON CONFLICT`, partial indexes,
//! `coalesce`), run through one connection type over rusqlite or the sync `postgres` client.
//!
//! Values are SQLite's storage classes ([`Value`]), which are PostgreSQL's BIGINT, DOUBLE
//! PRECISION, TEXT and BYTEA; placeholders are SQLite's `?N`, translated to `$N` once per
//! statement (then prepared and cached); errors are sorted into [`SqlError`]'s kinds.

mod conn;
pub mod dialect;
mod error;
mod url;
mod value;

pub use conn::{Backend, Conn, Exec, Row, Tx};
pub use error::SqlError;
pub use url::{redact, PgUrl, StoreUrl, UrlError};
pub(crate) use value::vals;
pub use value::{FromValue, Value};
