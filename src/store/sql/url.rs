//! Where the store lives: an SQLite file (a path, or `sqlite://path`) or a PostgreSQL server
//! (`postgres://…`, `postgresql://…`). Shown anywhere, a URL never shows its password.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed store location.
#[derive(Clone, PartialEq)]
pub enum StoreUrl {
    /// The embedded SQLite database at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(PgUrl),
}

/// A PostgreSQL connection URL, checked by the client's own parser.
#[derive(Clone, PartialEq)]
pub struct PgUrl {
    raw: String,
}

/// Why a store URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Nothing was given.
    #[error(
        "the store location is empty; give a file path, sqlite://PATH or postgres://USER@HOST/DB"
    )]
    Empty,
    /// `sqlite://` without a path.
    #[error("{0:?} names no file; write sqlite://PATH (sqlite:///abs/path for an absolute one)")]
    NoPath(String),
    /// A scheme the store does not speak.
    #[error("unsupported store scheme {scheme:?} in {shown}; use a file path, sqlite://PATH, postgres:// or postgresql://")]
    Scheme {
        /// The scheme given.
        scheme: String,
        /// The location, password hidden.
        shown: String,
    },
    /// A PostgreSQL URL the client cannot read.
    #[error("cannot read the PostgreSQL URL {shown}: {detail}; the form is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")]
    BadPostgres {
        /// The URL, password hidden.
        shown: String,
        /// What the parser said.
        detail: String,
    },
}

impl From<PathBuf> for StoreUrl {
    fn from(path: PathBuf) -> StoreUrl {
        StoreUrl::Sqlite(path)
    }
}

impl From<&std::path::Path> for StoreUrl {
    fn from(path: &std::path::Path) -> StoreUrl {
        StoreUrl::Sqlite(path.to_path_buf())
    }
}

impl FromStr for StoreUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<StoreUrl, UrlError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Ok(StoreUrl::Sqlite(PathBuf::from(s)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if rest.is_empty() => Err(UrlError::NoPath(s.to_string())),
            "sqlite" => Ok(StoreUrl::Sqlite(PathBuf::from(rest))),
            "postgres" | "postgresql" => {
                let shown = redact(s);
                let config = postgres::Config::from_str(s).map_err(|e| UrlError::BadPostgres {
                    shown: shown.clone(),
                    // The parser's words may quote the password back: hide it there too.
                    detail: hide_password(&e.to_string(), s),
                })?;
                if config.get_hosts().is_empty() {
                    return Err(UrlError::BadPostgres {
                        shown,
                        detail: "no host".to_string(),
                    });
                }
                Ok(StoreUrl::Postgres(PgUrl { raw: s.to_string() }))
            }
            other => Err(UrlError::Scheme {
                scheme: other.to_string(),
                shown: redact(s),
            }),
        }
    }
}

impl PgUrl {
    /// The URL as given, password included: for connecting only, never for showing.
    pub fn secret(&self) -> &str {
        &self.raw
    }

    /// The client's configuration.
    pub fn config(&self) -> postgres::Config {
        // Parsed once already in `from_str`; the same text parses the same way.
        postgres::Config::from_str(&self.raw).unwrap_or_default()
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "{}", path.display()),
            StoreUrl::Postgres(url) => url.fmt(f),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "Sqlite({path:?})"),
            StoreUrl::Postgres(url) => write!(f, "Postgres({url})"),
        }
    }
}

/// `url` with the password (after `user:` before the host, and any `password=` parameter)
/// replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// `text` with every password that `url` carries replaced by `***`.
fn hide_password(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let from_userinfo = authority
        .rsplit_once('@')
        .and_then(|(ui, _)| ui.split_once(':'))
        .map(|(_, p)| p);
    let from_query = rest.split_once('?').into_iter().flat_map(|(_, q)| {
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| k.eq_ignore_ascii_case("password"))
            .map(|(_, v)| v)
    });
    for secret in from_userinfo.into_iter().chain(from_query) {
        if !secret.is_empty() {
            out = out.replace(secret, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(s: &str) -> PgUrl {
        match s.parse::<StoreUrl>() {
            Ok(StoreUrl::Postgres(u)) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn paths_and_sqlite_urls_are_sqlite() {
        let cases = [
            ("board.db", "board.db"),
            ("/var/lib/a.db", "/var/lib/a.db"),
            ("sqlite://rel/a.db", "rel/a.db"),
            ("sqlite:///abs/a.db", "/abs/a.db"),
            ("SQLite:///abs/a.db", "/abs/a.db"),
            ("file:x.db?mode=memory", "file:x.db?mode=memory"),
        ];
        for (given, path) in cases {
            assert_eq!(
                given.parse(),
                Ok(StoreUrl::Sqlite(PathBuf::from(path))),
                "{given}"
            );
        }
    }

    #[test]
    fn postgres_urls_of_both_schemes_parse_and_keep_the_secret_for_connecting() {
        let u = pg("postgres://alice:s3cret@db.example:5433/queue");
        assert_eq!(u.secret(), "postgres://alice:s3cret@db.example:5433/queue");
        let c = u.config();
        assert_eq!(c.get_user(), Some("alice"));
        assert_eq!(c.get_dbname(), Some("queue"));
        assert_eq!(c.get_ports(), &[5433]);
        assert_eq!(
            pg("postgresql://bob@localhost/q").config().get_user(),
            Some("bob")
        );
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let u: StoreUrl = "postgres://alice:s3cret@db:5432/q?password=other&sslmode=disable"
            .parse()
            .expect("parses");
        for shown in [u.to_string(), format!("{u:?}")] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("other"),
                "{shown}"
            );
            assert!(shown.contains("postgres://alice:***@db:5432/q"), "{shown}");
            assert!(shown.contains("sslmode=disable"), "{shown}");
        }
        assert_eq!(redact("postgres://alice@db/q"), "postgres://alice@db/q");
        // A password holding '@' still ends at the last '@' before the host.
        assert_eq!(redact("postgres://a:p@ss@db/q"), "postgres://a:***@db/q");
    }

    #[test]
    fn bad_locations_say_what_is_wrong_without_the_password() {
        assert_eq!("  ".parse::<StoreUrl>(), Err(UrlError::Empty));
        assert!(matches!(
            "sqlite://".parse::<StoreUrl>(),
            Err(UrlError::NoPath(_))
        ));
        let e = "mysql://root:hunter2@db/q"
            .parse::<StoreUrl>()
            .expect_err("refused");
        let text = e.to_string();
        assert!(
            text.contains("\"mysql\"") && !text.contains("hunter2"),
            "{text}"
        );
        let e = "postgres://u:hunter2@db:notaport/q"
            .parse::<StoreUrl>()
            .expect_err("refused");
        let text = e.to_string();
        assert!(matches!(e, UrlError::BadPostgres { .. }), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("port") || text.contains("invalid"), "{text}");
    }
}
