"""A minimal Python reference server for the serving benchmark (reference/bench_serve.sh).

The same MovieLens MMoE run as `mtrec serve`, in PyTorch (mmoe_run.py: mtrec's
model.safetensors and spec.json, scores within 1e-5 of mtrec predict), behind the
standard library's threaded HTTP server (one thread per connection, HTTP/1.1
keep-alive), speaking the same JSON as mtrec serve:

    GET  /v2/health/live, /v2/health/ready
    GET  /v2/models/{name}                 inputs (BYTES / FP32) and outputs
    POST /v2/models/{name}/infer           KServe v2 infer request -> one FP32 output per task
    POST /v1/models/{name}/recommend       {"user", "features", "candidates", "k",
                                            "exclude_history"} -> {"model_name", "user", "items"}

Every route but the health probes needs `Authorization: Bearer <token>` (--token-file).
A request is one forward pass (batching by the request; no batching across requests);
torch runs with --threads intra-op threads (default 2), top-K with torch.topk.
--two-tower: recommend with the items' part of the first layers computed once at start
(the same split as `mtrec serve --two-tower`).
Listens on 127.0.0.1 only; --port 0 picks a free port. The first stdout line is
`listening on 127.0.0.1:PORT`.

    reference/.venv/bin/python reference/serve/server.py --run RUN --name ml \
        --data-dir ../shared/data --token-file token --port 0
"""

import argparse
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mmoe_run  # noqa: E402

MAX_BODY = 8 << 20
MAX_K = 1000


class BadRequest(Exception):
    pass


def infer(model, req):
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list):
        raise BadRequest("expected {\"inputs\": [...]}")
    cols, n = {}, None
    for inp in req["inputs"]:
        name = inp.get("name")
        if name not in model.enc.names or name in cols:
            raise BadRequest(f"input {name!r} is unknown or repeated")
        data = inp.get("data")
        if not isinstance(data, list) or not data:
            raise BadRequest(f"input {name}: `data` must be a non-empty list")
        if n is not None and len(data) != n:
            raise BadRequest(f"input {name}: {len(data)} rows, the others have {n}")
        n = len(data)
        cols[name] = data
    missing = [f for f in model.enc.names if f not in cols]
    if missing:
        raise BadRequest(f"missing inputs {missing}")
    for name, *_ in model.enc.num:
        if not all(v is None or isinstance(v, (int, float)) for v in cols[name]):
            raise BadRequest(f"input {name}: FP32 values expected")
    for name in model.enc.names:
        if not any(name == m for m, *_ in model.enc.num):
            cols[name] = [v if v is None or isinstance(v, str) else str(v) for v in cols[name]]
    v = model.predict(cols)
    outputs = [{"name": t, "shape": [n], "datatype": "FP32", "data": v[:, k].tolist()}
               for k, (t, _) in enumerate(model.tasks)]
    reply = {"model_name": None, "outputs": outputs}
    if "id" in req:
        reply["id"] = req["id"]
    return reply


def recommend(lists, req):
    if not isinstance(req, dict) or "user" not in req:
        raise BadRequest("the body must be a JSON object with at least `user`")
    user = req["user"]
    if isinstance(user, int):
        user = str(user)
    if not isinstance(user, str) or not user:
        raise BadRequest("`user` is not an id")
    features = {k: str(v) for k, v in (req.get("features") or {}).items()}
    cands = req.get("candidates")
    if cands is not None:
        if not isinstance(cands, list) or not cands:
            raise BadRequest("`candidates` is not a non-empty list")
        cands = [str(c) for c in cands]
    k = req.get("k", 10)
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadRequest(f"`k` must be an integer from 1 to {MAX_K}")
    if req.get("fusion") is not None:
        raise BadRequest("`fusion` per request is not supported by this reference server")
    try:
        top, unknown = lists.recommend(user, features, cands, k, req.get("exclude_history"))
    except ValueError as e:
        raise BadRequest(str(e)) from None
    names = [t for t, _ in lists.m.tasks]
    items = [{"rank": r + 1, "item": i, "score": s, "tasks": dict(zip(names, v))}
             for r, (i, s, v) in enumerate(top)]
    reply = {"model_name": None, "user": user, "items": items}
    if unknown:
        reply["unknown_candidates"] = unknown
    return reply


def make_handler(name, model, lists, token):
    meta = {
        "name": name, "versions": [], "platform": "pytorch-reference",
        "inputs": [{"name": n, "shape": [-1],
                    "datatype": "FP32" if any(n == m for m, *_ in model.enc.num) else "BYTES"}
                   for n in model.enc.names],
        "outputs": [{"name": t, "shape": [-1], "datatype": "FP32"} for t, _ in model.tasks],
    }
    want = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like mtrec serve
        # TCP_NODELAY, as mtrec serve (and the load generator) set it: without it, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every keep-alive request.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n")  # end_headers, sent with the body: one write
            self.wfile.write(b"".join(self._headers_buffer) + body)
            self._headers_buffer = []

        def authorized(self):
            got = (self.headers.get("Authorization") or "").encode()
            if hmac.compare_digest(got, want):
                return True
            self.reply(401, {"error": "missing or wrong bearer token"})
            return False

        def do_GET(self):
            if self.path in ("/v2/health/live", "/v2/health/ready"):
                return self.reply(200, {})
            if not self.authorized():
                return
            if self.path == f"/v2/models/{name}":
                return self.reply(200, meta)
            self.reply(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                self.close_connection = True
                return self.reply(413, {"error": "body too large"})
            raw = self.rfile.read(n)
            if not self.authorized():
                return
            if self.path == f"/v2/models/{name}/infer":
                handler = lambda r: infer(model, r)  # noqa: E731
            elif self.path == f"/v1/models/{name}/recommend":
                handler = lambda r: recommend(lists, r)  # noqa: E731
            else:
                return self.reply(404, {"error": f"no route {self.path}"})
            try:
                out = handler(json.loads(raw))
            except (BadRequest, json.JSONDecodeError) as e:
                return self.reply(400, {"error": str(e)})
            out["model_name"] = name
            self.reply(200, out)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: 64 clients connect at once


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="an mtrec MMoE run folder")
    p.add_argument("--name", default="ml", help="model name in the routes")
    p.add_argument("--data-dir", default=mmoe_run.ml.default_data_dir())
    p.add_argument("--token-file", required=True)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--two-tower", action="store_true",
                   help="recommend with the two-tower split (items' first-layer part computed once), as mtrec serve --two-tower")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    token = Path(a.token_file).read_text().strip()
    model = mmoe_run.MMoE(a.run)
    lists = mmoe_run.Lists(model, a.data_dir, two_tower=a.two_tower)
    srv = Server(("127.0.0.1", a.port), make_handler(a.name, model, lists, token))
    print(f"listening on 127.0.0.1:{srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
