//! `serve::client::Repeater`, the load generator's client: the request bytes it sends
//! again and again, and the replies it reads back on one keep-alive connection
//! (Content-Length, chunked, split across reads, several in one read), checked against
//! a scripted server on loopback.

use mtrec::serve::client::Repeater;
use std::io::{Read, Write};
use std::net::TcpListener;

/// Reads one request (head + Content-Length body) from `s`; returns its bytes.
fn read_request(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        buf.push(b[0]);
    }
    let head = String::from_utf8(buf.clone()).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    s.read_exact(&mut body).unwrap();
    buf.extend(body);
    buf
}

#[test]
fn repeater_sends_the_same_request_and_reads_every_kind_of_reply() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        // 1: Content-Length, head and body in two writes
        seen.push(read_request(&mut s));
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n")
            .unwrap();
        s.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.write_all(b"hello world").unwrap();
        // 2: chunked, in pieces
        seen.push(read_request(&mut s));
        s.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"",
        )
        .unwrap();
        s.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.write_all(b"\r\n3\r\n:1}\r\n0\r\n\r\n").unwrap();
        // 3: a body larger than the client's first buffer (64 KiB)
        seen.push(read_request(&mut s));
        let big = vec![b'x'; 100_000];
        s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big.len()).as_bytes())
            .unwrap();
        s.write_all(&big).unwrap();
        // 4: an empty body, no length header
        seen.push(read_request(&mut s));
        s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        // 5: the next reply in the same write as the body of this one's predecessor
        seen.push(read_request(&mut s));
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc")
            .unwrap();
        seen.push(read_request(&mut s));
        seen
    });
    let body = br#"{"inputs": []}"#;
    let mut r = Repeater::connect(addr, Some("tok"), "POST", "/v2/models/m/infer", body).unwrap();
    let a = r.send().unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(r.body(&a), b"hello world");
    let b = r.send().unwrap();
    assert_eq!(b.status, 503);
    assert_eq!(r.body(&b), b"{\"a\":1}");
    let c = r.send().unwrap();
    assert_eq!((c.status, r.body(&c).len()), (200, 100_000));
    assert!(r.body(&c).iter().all(|&x| x == b'x'));
    let d = r.send().unwrap();
    assert_eq!((d.status, r.body(&d)), (204, &b""[..]));
    let e = r.send().unwrap();
    assert_eq!((e.status, r.body(&e)), (200, &b"ok"[..]));
    // the reply already read with the previous one
    let f = r.send().unwrap();
    assert_eq!((f.status, r.body(&f)), (201, &b"abc"[..]));

    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 6);
    let want = format!(
        "POST /v2/models/m/infer HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        std::str::from_utf8(body).unwrap()
    );
    for s in &seen {
        assert_eq!(String::from_utf8_lossy(s), want);
    }
}

#[test]
fn repeater_reports_a_closed_connection_and_refuses_other_hosts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
            .unwrap();
        // closes with 5 of 10 bytes sent
    });
    let mut r = Repeater::connect(addr, None, "GET", "/v2/health/live", b"").unwrap();
    let err = r.send().unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
    server.join().unwrap();
    let far: std::net::SocketAddr = "192.0.2.1:80".parse().unwrap();
    let err = Repeater::connect(far, None, "GET", "/", b"").err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
}
