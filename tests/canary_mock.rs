//! A small HTTP/1.1 server on 127.0.0.1 for the Forgejo API tests and the benchmark: std only,
//! keep-alive, one thread per connection, a handler closure decides every answer. Included by
//! `tests/canary_api.rs` and `benches/canary.rs` with `#[path]`; as its own test target it
//! holds no tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, e.g. `/api/v1/repos/o/r/pulls/7/files?page=2&limit=50`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self, key: &str) -> Option<&str> {
        let q = self.target.split_once('?')?.1;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Never answer: hold the connection open this long, then drop it.
    pub hang: Option<Duration>,
}

impl Response {
    pub fn json(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
            hang: None,
        }
    }
    pub fn with_header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn hang(d: Duration) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
            hang: Some(d),
        }
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

pub struct Mock {
    pub addr: String,
    pub log: Arc<Mutex<Vec<Request>>>,
    /// Time spent inside the handler and writing answers (the server's own time).
    pub server_time: Arc<Mutex<Duration>>,
}

impl Mock {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let server_time = Arc::new(Mutex::new(Duration::ZERO));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let log = log.clone();
            let server_time = server_time.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (log, st, h) = (log.clone(), server_time.clone(), handler.clone());
                    std::thread::spawn(move || serve(stream, &log, &st, &*h));
                }
            });
        }
        Mock {
            addr,
            log,
            server_time,
        }
    }

    /// The API base URL.
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.log.lock().unwrap().clear();
        *self.server_time.lock().unwrap() = Duration::ZERO;
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Request>>, st: &Mutex<Duration>, h: &Handler) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let start = Instant::now();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Request {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        log.lock().unwrap().push(req.clone());
        let resp = h(&req);
        if let Some(d) = resp.hang {
            std::thread::sleep(d);
            return;
        }
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: keep-alive\r\n",
            resp.status,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&resp.body);
        if writer.write_all(&bytes).is_err() {
            return;
        }
        *st.lock().unwrap() += start.elapsed();
    }
}

/// A ChangedFile list page as the swagger describes it.
pub fn files_page(names: &[String]) -> String {
    let items: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            serde_json::json!({
                "filename": n, "status": "changed", "additions": 1, "deletions": 0,
                "changes": 1, "html_url": "", "contents_url": "", "raw_url": ""
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// A PullRequest as the swagger describes it (the fields the gate reads, and some it ignores).
pub fn pull(number: u64, body: &str, labels: &[&str]) -> String {
    let labels: Vec<serde_json::Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| serde_json::json!({"id": i + 1, "name": l, "color": "ee0701"}))
        .collect();
    serde_json::json!({
        "id": 1000 + number, "number": number, "title": "::error::t", "body": body,
        "state": "open", "draft": false, "labels": labels,
        "head": {"ref": "feature", "sha": "a".repeat(40), "label": "feature"},
        "base": {"ref": "main", "sha": "b".repeat(40), "label": "main"},
        "merge_base": "b".repeat(40)
    })
    .to_string()
}
