//! `mtrec serve` over HTTP on 127.0.0.1: the Open Inference Protocol endpoints, scores
//! equal to `mtrec predict`, auth, and a JSON 400 naming the field for every malformed
//! request.

mod serve_support;

use mtrec::serve::client;
use serve_support::*;

#[test]
fn infer_scores_equal_mtrec_predict_and_metadata_lists_features_and_tasks() {
    let dir = temp_dir("serve-predict");
    let run = train_run(&dir, "run", 3, 3);
    let server = Server::start(&dir, &[run.to_str().unwrap()], &[]);

    let meta = server.call("GET", "/v2/models/run", None);
    assert_eq!(meta.status, 200, "{}", meta.text());
    let m = meta.json();
    assert_eq!(m["name"], "run");
    let inputs: Vec<(String, String)> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["datatype"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("user", "BYTES"),
        ("item", "BYTES"),
        ("genres", "BYTES"),
        ("price", "FP32"),
    ];
    assert_eq!(inputs, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let outs: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outs, ["click", "buy", "watch"]);

    let rows = event_rows(&dir, 0..120);
    let expected = predict_scores(&dir, &run, &rows);
    // one request of all rows, and concurrent requests of 10 rows (micro-batched)
    let whole = server.infer("run", &infer_body(&rows));
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.json()["model_name"], "run");
    let mut got = outputs(&whole);
    let parts: Vec<Vec<(String, Vec<f64>)>> = std::thread::scope(|s| {
        let hs: Vec<_> = rows
            .chunks(10)
            .map(|c| {
                let server = &server;
                s.spawn(move || {
                    let r = server.infer("run", &infer_body(c));
                    assert_eq!(r.status, 200, "{}", r.text());
                    outputs(&r)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, want) in &expected {
        let whole = &got.iter().find(|(n, _)| n == name).unwrap().1;
        let pieces: Vec<f64> = parts
            .iter()
            .flat_map(|p| p.iter().find(|(n, _)| n == name).unwrap().1.clone())
            .collect();
        assert_eq!(whole.len(), rows.len());
        for (i, w) in want.iter().enumerate() {
            // predict writes 6 decimals
            assert!(
                (whole[i] - w).abs() <= 6e-7,
                "{name} row {i}: served {} vs predict {w}",
                whole[i]
            );
            assert!(
                (pieces[i] - w).abs() <= 6e-7,
                "{name} row {i}: batched {} vs predict {w}",
                pieces[i]
            );
        }
    }
    // a subset of outputs, in nested [N, 1] form
    let body = infer_body(&rows[..2]).replace("\"outputs\"", "\"x\"");
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["outputs"] = serde_json::json!([{ "name": "watch" }]);
    v["id"] = serde_json::json!("req-7");
    let r = server.infer("run", &v.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    got = outputs(&r);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "watch");
    assert_eq!(r.json()["id"], "req-7");
}

#[test]
fn health_is_open_everything_else_needs_the_bearer_token() {
    let dir = temp_dir("serve-auth");
    let run = train_run(&dir, "run", 1, 3);
    let server = Server::start(&dir, &[&format!("m1={}", run.display())], &[]);
    for path in ["/v2/health/live", "/v2/health/ready"] {
        let r = client::once(server.addr, None, "GET", path, None).unwrap();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let body = infer_body(&event_rows(&dir, 0..2));
    for (token, what) in [
        (None, "missing header"),
        (Some("test-token-0123456789abcdeX"), "wrong bearer token"),
        (Some("short"), "wrong bearer token"),
    ] {
        for (method, path, body) in [
            ("GET", "/v2/models/m1", None),
            ("POST", "/v2/models/m1/infer", Some(body.as_bytes())),
            ("GET", "/metrics", None),
            ("POST", "/v1/admin/reload", Some(&b""[..])),
        ] {
            let r = client::once(server.addr, token, method, path, body).unwrap();
            assert_eq!(r.status, 401, "{path} with {token:?}: {}", r.text());
            assert!(
                r.json()["error"].as_str().unwrap().contains(what),
                "{}",
                r.text()
            );
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
    }
    assert_eq!(server.call("GET", "/v2/models/m1", None).status, 200);
    assert_eq!(server.call("GET", "/v2/models/m1/ready", None).status, 200);
    let r = server.call("GET", "/v2/models/nope", None);
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"].as_str().unwrap().contains("m1"),
        "{}",
        r.text()
    );
    let r = server.infer("nope", &body);
    assert_eq!(r.status, 404, "{}", r.text());
    // a run without a [recommend] section serves no lists, and says why
    let r = server.call("POST", "/v1/models/m1/recommend", Some(r#"{"user": "1"}"#));
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("[recommend]"));
}

/// (what to change in a valid request, words the 400's error must hold)
fn malformed() -> Vec<(serde_json::Value, Vec<&'static str>)> {
    use serde_json::json;
    let input = |name: &str, dt: &str, data: serde_json::Value| {
        let n = data.as_array().map_or(1, |a| a.len());
        json!({ "name": name, "shape": [n], "datatype": dt, "data": data })
    };
    let ok = |skip: &str| -> Vec<serde_json::Value> {
        [
            input("user", "BYTES", json!(["1", "2"])),
            input("item", "BYTES", json!(["3", "4"])),
            input("price", "FP32", json!([1.5, 2.5])),
            input("genres", "BYTES", json!(["a|b", ""])),
        ]
        .into_iter()
        .filter(|i| i["name"] != skip)
        .collect()
    };
    let with = |skip: &str, extra: serde_json::Value| {
        let mut v = ok(skip);
        v.push(extra);
        json!({ "inputs": v })
    };
    vec![
        (
            json!({ "inputs": [] }),
            vec!["`inputs` is empty", "user (BYTES)"],
        ),
        (json!({ "input": [] }), vec!["missing field `inputs`"]),
        (json!([1, 2]), vec!["not an inference request"]),
        (
            json!({ "inputs": ok("price") }),
            vec!["missing input(s): price (FP32)"],
        ),
        (
            with("", input("age", "FP32", json!([1, 2]))),
            vec!["unknown input `age`", "user (BYTES)"],
        ),
        (
            with("", input("user", "BYTES", json!(["1", "2"]))),
            vec!["`user` is given twice"],
        ),
        (
            with("price", input("price", "BYTES", json!(["1.5", "2"]))),
            vec!["`price` has datatype `BYTES`", "FP32"],
        ),
        (
            with("user", input("user", "FP32", json!([1.0, 2.0]))),
            vec!["`user` has datatype `FP32`", "BYTES"],
        ),
        (
            with("price", input("price", "FP32", json!([1.5, "NaN"]))),
            vec!["`price`, data[1] is \"NaN\"", "finite number"],
        ),
        (
            with("price", input("price", "FP32", json!([1.5, 1e39]))),
            vec!["`price`, data[1]", "range of FP32"],
        ),
        (
            with("user", input("user", "BYTES", json!(["1", 2]))),
            vec!["`user`, data[1] is 2", "a string"],
        ),
        (
            with("user", input("user", "INT64", json!([1, 2.5]))),
            vec!["`user`, data[1] is 2.5", "an integer"],
        ),
        (
            with("user", input("user", "BYTES", json!(["1", "2", "3"]))),
            vec!["has 3 rows; expected 2"],
        ),
        (
            with(
                "user",
                json!({ "name": "user", "shape": [2], "datatype": "BYTES", "data": ["1"] }),
            ),
            vec!["`user` has 1 values in `data`; expected 2"],
        ),
        (
            with(
                "user",
                json!({ "name": "user", "shape": [2, 2], "datatype": "BYTES", "data": ["1", "2", "3", "4"] }),
            ),
            vec!["shape [2, 2]", "[N] or [N, 1]"],
        ),
        (
            with(
                "user",
                json!({ "name": "user", "shape": [2], "datatype": "BYTES" }),
            ),
            vec!["missing field `data`"],
        ),
        (
            json!({ "inputs": [{ "name": "user", "shape": [0], "datatype": "BYTES", "data": [] }] }),
            vec!["empty batch"],
        ),
        (
            json!({ "inputs": ok(""), "outputs": [{ "name": "ctr" }] }),
            vec!["unknown output `ctr`", "click, buy, watch"],
        ),
    ]
}

#[test]
fn every_malformed_request_is_a_json_400_naming_the_field() {
    let dir = temp_dir("serve-400");
    let run = train_run(&dir, "run", 1, 3);
    let server = Server::start(
        &dir,
        &[run.to_str().unwrap()],
        &["--max-body-bytes", "4000000"],
    );
    for (body, words) in malformed() {
        let r = server.infer("run", &body.to_string());
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let err = r.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not a JSON error: {}", r.text()))
            .to_string();
        for w in words {
            assert!(err.contains(w), "{body}: error {err:?} lacks {w:?}");
        }
    }
    // not JSON at all, and JSON's missing NaN
    for (body, word) in [
        ("{\"inputs\": [", "EOF"),
        ("{\"inputs\": [NaN]}", "expected value"),
    ] {
        let r = server.infer("run", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(
            r.json()["error"].as_str().unwrap().contains(word),
            "{}",
            r.text()
        );
    }
    // 10^6 rows in a body under the size limit: refused by the row limit
    let data = vec!["0"; 1_000_000].join(",");
    let body = format!("{{\"inputs\": [{{\"name\": \"price\", \"shape\": [1000000], \"datatype\": \"FP32\", \"data\": [{data}]}}]}}");
    assert!(body.len() < 4_000_000);
    let r = server.infer("run", &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("at most 10000 rows"),
        "{}",
        r.text()
    );
    // a body over --max-body-bytes: 413
    let big = format!("{{\"inputs\": [{{\"name\": \"price\", \"shape\": [2000000], \"datatype\": \"FP32\", \"data\": [{}]}}]}}", vec!["0"; 2_000_000].join(","));
    let r = server.infer("run", &big);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("--max-body-bytes"),
        "{}",
        r.text()
    );
    // an unknown category of a feature with missing = "oov" is fine (id 0), a null
    // price is filled with the training mean
    let v = serde_json::json!({ "inputs": [
        { "name": "user", "shape": [1], "datatype": "INT64", "data": [999] },
        { "name": "item", "shape": [1, 1], "datatype": "BYTES", "data": [["zzz"]] },
        { "name": "price", "shape": [1], "datatype": "FP32", "data": [null] },
        { "name": "genres", "shape": [1], "datatype": "BYTES", "data": ["a|q"] },
    ]});
    let r = server.infer("run", &v.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    // the server still answers after all of that
    assert_eq!(server.call("GET", "/v2/health/ready", None).status, 200);
}
