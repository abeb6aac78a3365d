"""A small shop API for the demo load test: serves on 127.0.0.1 and prints its port.

Run: python3 examples/local/target.py [PORT]   (0 or nothing: any free port)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = [{"id": i, "name": f"item-{i}", "price": 10 + i} for i in range(1, 21)]


class Shop(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/":
            self.reply(200, {"shop": "demo", "items": len(ITEMS)})
        elif self.path == "/items":
            self.reply(200, ITEMS)
        elif self.path.startswith("/items/"):
            item = next((i for i in ITEMS if f"/items/{i['id']}" == self.path), None)
            self.reply(200 if item else 404, item or {"error": "no such item"})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        # Quiet: the load test's own output is what the demo shows.
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Shop)
    print(server.server_address[1], flush=True)
    server.serve_forever()
