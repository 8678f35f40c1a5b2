//! The PostgreSQL client as a connection holds it.

/// The sync client, closed off the async runtime: closing blocks on the client's own runtime,
/// which panics on a thread that drives tasks (a runner slot dropping the last handle on its
/// store), so there it closes on a thread of its own.
pub(super) struct PgClient(pub(super) Option<postgres::Client>);

impl std::ops::Deref for PgClient {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.0.as_ref().expect("the client is only taken on drop")
    }
}

impl std::ops::DerefMut for PgClient {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.0.as_mut().expect("the client is only taken on drop")
    }
}

impl Drop for PgClient {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            }
        }
    }
}
