//! [`Capture`]: a loopback HTTP/1.1 server that records every request (method, path,
//! headers, body, arrival time) and answers what the test configured: one answer for
//! every request, a function of the request, or a queue of answers used first (a 429
//! then a 200). It runs on threads of its own, so blocking and Tokio tests use it alike.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// One request a [`Capture`] received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// The headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// When the request was complete.
    pub at: Instant,
    /// The status it was answered with; `None` while held (see [`Capture::hold`]).
    pub answered: Option<u16>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What a [`Capture`] answers: a status, headers and a text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Extra headers (`Content-Length` is always added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// `status` with an empty body.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// The same with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The same with `body`.
    pub fn body(mut self, body: &str) -> Answer {
        self.body = body.to_string();
        self
    }
}

type Answering = Box<dyn Fn(&Request) -> Answer + Send>;

struct Shared {
    requests: Mutex<Vec<Request>>,
    queued: Mutex<VecDeque<Answer>>,
    answering: Mutex<Answering>,
    hold: AtomicBool,
}

/// A loopback HTTP server that records requests; see the module docs. Clones share
/// the server; it runs until the process ends.
#[derive(Clone)]
pub struct Capture {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("addr", &self.addr).finish()
    }
}

impl Capture {
    /// Starts on a free loopback port, answering `200` with an empty body.
    pub fn start() -> Capture {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts on `addr` (a port chosen before, for a receiver that comes up late).
    pub fn start_on(addr: SocketAddr) -> Capture {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("capture cannot bind {addr}: {e}"));
        let addr = listener.local_addr().expect("the capture's address");
        let shared = Arc::new(Shared {
            requests: Mutex::default(),
            queued: Mutex::default(),
            answering: Mutex::new(Box::new(|_| Answer::status(200))),
            hold: AtomicBool::new(false),
        });
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Capture { addr, shared }
    }

    /// From now on answers every request with `answer` (after the queued ones).
    pub fn answer(&self, answer: Answer) -> &Capture {
        self.answer_with(move |_| answer.clone())
    }

    /// From now on answers every request with what `answering` makes of it (after
    /// the queued ones).
    pub fn answer_with(&self, answering: impl Fn(&Request) -> Answer + Send + 'static) -> &Capture {
        *lock(&self.shared.answering) = Box::new(answering);
        self
    }

    /// Queues `answers`: the next requests get them, one each, in order.
    pub fn queue(&self, answers: impl IntoIterator<Item = Answer>) -> &Capture {
        lock(&self.shared.queued).extend(answers);
        self
    }

    /// While `hold` is set, a request is recorded but never answered (its connection
    /// stays open), as when the receiver hangs.
    pub fn hold(&self, hold: bool) -> &Capture {
        self.shared.hold.store(hold, Ordering::SeqCst);
        self
    }

    /// Its address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// The JSON bodies received so far, in arrival order (other bodies skipped).
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        lock(&self.shared.requests)
            .iter()
            .filter_map(|r| serde_json::from_slice(&r.body).ok())
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Answers the requests of one connection until it closes.
fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((mut request, close)) = read_request(&mut reader) {
        if shared.hold.load(Ordering::SeqCst) {
            lock(&shared.requests).push(request);
            loop {
                std::thread::park();
            }
        }
        let answer = lock(&shared.queued)
            .pop_front()
            .unwrap_or_else(|| lock(&shared.answering)(&request));
        request.answered = Some(answer.status);
        lock(&shared.requests).push(request);
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            answer.status,
            reason(answer.status),
            answer.body.len()
        );
        for (name, value) in &answer.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(answer.body.as_bytes()).is_err()
            || close
        {
            return;
        }
    }
}

/// One request off the connection and whether the client asked to close it; `None`
/// at the end of the connection or on a malformed request.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Request, bool)> {
    let mut line = String::new();
    // Blank lines between requests are allowed.
    while line.trim().is_empty() {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let length: usize = value("content-length").map_or(Some(0), |v| v.parse().ok())?;
    let close = value("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let request = Request {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
        answered: None,
    };
    Some((request, close))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_requests_and_answers_the_queue_then_the_default() {
        let capture = Capture::start();
        capture
            .queue([Answer::status(429)
                .header("Retry-After", "1")
                .body("slow down")])
            .answer(Answer::status(202).body("ok"));
        let client = reqwest::blocking::Client::new();
        let first = client
            .post(capture.url("/hook?x=1"))
            .header("X-Test", "one")
            .json(&serde_json::json!({"n": 1}))
            .send()
            .expect("first POST");
        assert_eq!(first.status(), 429);
        assert_eq!(first.headers()["retry-after"], "1");
        assert_eq!(first.text().expect("body"), "slow down");
        let second = client.get(capture.url("/again")).send().expect("GET");
        assert_eq!(second.status(), 202);
        assert_eq!(second.text().expect("body"), "ok");

        let requests = capture.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].path.as_str()),
            ("POST", "/hook?x=1")
        );
        assert_eq!(requests[0].header("x-test"), Some("one"));
        assert_eq!(requests[0].json()["n"], 1);
        assert_eq!(requests[1].method, "GET");
        assert_eq!(
            (requests[0].answered, requests[1].answered),
            (Some(429), Some(202))
        );
        assert_eq!(capture.bodies(), [serde_json::json!({"n": 1})]);
    }

    #[test]
    fn answers_as_a_function_of_the_request() {
        let capture = Capture::start();
        capture.answer_with(|r| Answer::status(if r.path == "/bad" { 500 } else { 200 }));
        let get = |path: &str| {
            reqwest::blocking::get(capture.url(path))
                .expect("GET")
                .status()
        };
        assert_eq!(get("/bad"), 500);
        assert_eq!(get("/good"), 200);
    }
}
