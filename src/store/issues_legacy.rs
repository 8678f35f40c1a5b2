//! A bare-rusqlite copy of the issue column reader for modules not yet on the portable layer;
//! removed once every caller is ported.

use rusqlite::Row;

/// [`super::parse_col`] on a bare rusqlite row; removed once every caller is ported.
pub(in crate::store) fn legacy_parse_col<T: std::str::FromStr>(
    r: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(idx)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}
