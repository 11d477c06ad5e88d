//! A tiny blocking HTTP/1.1 client for the tests and the load generator: one
//! keep-alive connection, `Content-Length` or chunked replies. It connects to loopback
//! addresses only, so a test or benchmark cannot send traffic off the machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A reply: status code, headers (names lower-cased) and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One connection to a server on loopback.
pub struct Client {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    token: Option<String>,
}

fn invalid(m: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, m.into())
}

impl Client {
    /// Connects to `addr`, which must be a loopback address; `token` is sent as
    /// `Authorization: Bearer <token>`.
    pub fn connect(addr: SocketAddr, token: Option<&str>) -> std::io::Result<Client> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{addr} is not a loopback address; this client talks to 127.0.0.1 only"),
            ));
        }
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            addr,
            reader: BufReader::new(stream),
            token: token.map(str::to_string),
        })
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> std::io::Result<Reply> {
        self.request("GET", path, &[], None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<Reply> {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    /// Any request; `headers` are sent as given, after Host and Authorization.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        let body = body.unwrap_or(&[]);
        if method != "GET" || !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes())?;
        // The server may answer (413) and close before reading a large body.
        if let Err(e) = s.write_all(body) {
            if e.kind() != std::io::ErrorKind::BrokenPipe
                && e.kind() != std::io::ErrorKind::ConnectionReset
            {
                return Err(e);
            }
        }
        s.flush()?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(invalid("connection closed before a reply"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let find = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    line.clear();
                    self.reader.read_line(&mut line)?;
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                line.clear();
                self.reader.read_line(&mut line)?;
            }
        } else if let Some(len) = find("content-length") {
            let len: usize = len.parse().map_err(|_| invalid("bad content-length"))?;
            body.resize(len, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// One request on a new connection.
pub fn once(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::io::Result<Reply> {
    let mut c = Client::connect(addr, token)?;
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("Content-Type", "application/json")]
    } else {
        &[]
    };
    c.request(method, path, headers, body)
}

/// One request sent again and again on one keep-alive connection, for the load
/// generator: the request's bytes (head and body) are built once, each reply is read
/// into one reused buffer, and only its status and body length are parsed. A load
/// client on the same cores as the server takes CPU from it; this keeps that share
/// small (no allocation, no header strings per request), and the same for every
/// server measured.
pub struct Repeater {
    stream: TcpStream,
    request: Vec<u8>,
    /// Bytes read (`buf[..filled]`); the first `consumed` are the last reply's body.
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
}

/// What [`Repeater::send`] read: the status and where the body lies in
/// [`Repeater::body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub status: u16,
    body: (usize, usize),
}

impl Repeater {
    /// Connects to `addr` (loopback only) and builds `method path` with `body` (sent as
    /// JSON) and `Authorization: Bearer token` once.
    pub fn connect(
        addr: SocketAddr,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<Repeater> {
        let c = Client::connect(addr, token)?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if method != "GET" || !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        Ok(Repeater {
            stream: c.reader.into_inner(),
            request,
            buf: vec![0; 64 * 1024],
            filled: 0,
            consumed: 0,
        })
    }

    /// Sends the request (one write) and reads its reply; the body is then
    /// [`Repeater::body`] until the next call.
    pub fn send(&mut self) -> std::io::Result<Sent> {
        self.stream.write_all(&self.request)?;
        self.read_reply()
    }

    /// The body of the reply [`Repeater::send`] returned as `sent`.
    pub fn body(&self, sent: &Sent) -> &[u8] {
        &self.buf[sent.body.0..sent.body.1]
    }

    /// Reads until `buf[..filled]` holds at least `want` bytes.
    fn fill(&mut self, want: usize) -> std::io::Result<()> {
        if want > self.buf.len() {
            self.buf.resize(want.next_power_of_two(), 0);
        }
        while self.filled < want {
            let n = self.stream.read(&mut self.buf[self.filled..])?;
            if n == 0 {
                return Err(invalid("connection closed before a whole reply"));
            }
            self.filled += n;
        }
        Ok(())
    }

    /// Reads more bytes (at least one) into the buffer.
    fn more(&mut self) -> std::io::Result<()> {
        let want = self.filled + 1;
        self.fill(want)
    }

    fn read_reply(&mut self) -> std::io::Result<Sent> {
        // drop the previous reply's body, keep whatever followed it
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        let head_end = loop {
            if let Some(i) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                break i + 4;
            }
            if self.filled == self.buf.len() && self.buf.len() >= 1 << 20 {
                return Err(invalid("reply head over 1 MiB"));
            }
            self.more()?;
        };
        let head = &self.buf[..head_end];
        let status = head
            .split(|&b| b == b' ')
            .nth(1)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| invalid("bad status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                if length.is_none() {
                    return Err(invalid("bad content-length"));
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding")
                && value.eq_ignore_ascii_case(b"chunked")
            {
                chunked = true;
            }
        }
        let (body, end) = if chunked {
            self.dechunk(head_end)?
        } else {
            let len: usize = length.unwrap_or(0);
            self.fill(head_end + len)?;
            ((head_end, head_end + len), head_end + len)
        };
        // the body to the front (readable until the next send), then whatever
        // followed the reply
        let len = body.1 - body.0;
        self.buf.copy_within(body.0..body.1, 0);
        let rest = self.filled - end;
        self.buf.copy_within(end..self.filled, len);
        self.filled = len + rest;
        self.consumed = len;
        Ok(Sent {
            status,
            body: (0, len),
        })
    }

    /// Decodes a chunked body starting at `start` in place: returns the body's range
    /// and the offset just past the reply.
    fn dechunk(&mut self, start: usize) -> std::io::Result<((usize, usize), usize)> {
        let mut pos = start; // next chunk-size line
        let mut out = start; // end of the decoded body so far
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf[pos..self.filled], b"\r\n") {
                    break pos + i;
                }
                self.more()?;
            };
            let size_text = std::str::from_utf8(&self.buf[pos..line_end])
                .map_err(|_| invalid("bad chunk size"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
            let data = line_end + 2;
            if size == 0 {
                // the last chunk, then (no trailers) an empty line
                self.fill(data + 2)?;
                return Ok(((start, out), data + 2));
            }
            self.fill(data + size + 2)?;
            self.buf.copy_within(data..data + size, out);
            out += size;
            pos = data + size + 2;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
