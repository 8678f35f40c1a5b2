//! The HTTP/1.1 plumbing the mock APIs share: a listener that serves each connection on its own
//! thread, and reading one request after another from a kept-alive connection.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// One request: its request line, lower-cased header names with their values, and its body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `POST /v1/messages HTTP/1.1`.
    pub line: String,
    /// Lower-cased header names and their values.
    pub headers: Vec<(String, String)>,
    /// The body, as long as its `content-length` said.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A header's value (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client asked to close the connection after this request.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Serves a free port on 127.0.0.1 for as long as the test process lives: every connection is
/// handed to `serve` (its reader and its writer) on a thread of its own.
pub fn listen(
    serve: impl Fn(BufReader<TcpStream>, TcpStream) + Send + Sync + Clone + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
                if let Ok(out) = stream.try_clone() {
                    serve(BufReader::new(stream), out);
                }
            });
        }
    });
    addr
}

/// The next request on the connection; None once it is closed or cut off.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut headers = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                content_length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest {
        line,
        headers,
        body,
    })
}
