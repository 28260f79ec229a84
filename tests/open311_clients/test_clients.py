"""Real Open311 GeoReport v2 clients from PyPI against a running cityloop.

Starts the built `cityloop` binary on a free port with a fresh SQLite database (the demo
organisation, county-town city and history), issues a partner key through the CLI, and then
uses `georeport` (read-only: service list, definitions, requests) and `civicbot` (reads and
POST) to list services, read a definition, post a request and read it back.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BIN = os.environ.get("CITYLOOP_BIN") or os.path.join(TARGET, "debug", "cityloop")
START_TIMEOUT_S = float(os.environ.get("CITYLOOP_START_TIMEOUT", "900"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cityloop-open311-")
        self.db = "sqlite://" + os.path.join(self.dir, "city.sqlite3")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = None
        self.key = None

    def start(self):
        out = subprocess.run(
            [BIN, "partner", "add", "python-clients", "--scope", "open311",
             "--database-url", self.db],
            check=True, capture_output=True, text=True, timeout=300,
        ).stdout
        # "partner 1 (python-clients): cl311_…"
        self.key = out.split(": ", 1)[1].split()[0]
        self.proc = subprocess.Popen(
            [BIN, "demo", "--city", "county-town", "--database-url", self.db,
             "--listen", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cityloop exited:\n" + self.output())
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(1)
        raise RuntimeError("cityloop did not start in time:\n" + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-5000:]

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ClientsTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        try:
            cls.server.start()
        except Exception:
            cls.server.stop()
            raise
        cls.endpoint = cls.server.base + "/open311/v2"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def civicbot(self):
        ep = Endpoint(id="cityloop", name="cityloop", base_url=self.endpoint, write=True)
        return Open311Client(ep, HttpTransport(rate_limiter=RateLimiter(min_interval=0.0)))

    def component_service(self, services):
        return next(s for s in services if s["metadata"] in (True, "true"))

    def test_georeport_lists_services_in_json_and_xml(self):
        for fmt in ("json", "xml"):
            client = GeoReport(self.endpoint, output_format=fmt)
            services = client.get_service_list()
            self.assertGreater(len(services), 10, fmt)
            codes = [s["service_code"] for s in services]
            self.assertTrue(all(isinstance(c, str) and c[0] in "CE" for c in codes), codes[:5])
            svc = self.component_service(services)
            definition = client.get_service_definition(svc["service_code"])
            self.assertEqual(definition["service_code"], svc["service_code"], fmt)
            attrs = definition["attributes"]
            attr = attrs[0] if fmt == "json" else attrs["attribute"]
            self.assertEqual(attr["code"], "component_id")

    def test_georeport_reads_requests(self):
        client = GeoReport(self.endpoint, jurisdiction="cityloop.local")
        requests = client.get_service_requests(status="closed")
        self.assertGreater(len(requests), 0)
        self.assertTrue(all(r["status"] == "closed" for r in requests))
        one = client.get_service_request(requests[0]["service_request_id"])
        self.assertEqual(one["service_request_id"], requests[0]["service_request_id"])
        xml = GeoReport(self.endpoint, output_format="xml").get_service_request(
            requests[0]["service_request_id"])
        self.assertEqual(xml["service_request_id"], requests[0]["service_request_id"])

    def test_civicbot_posts_and_reads_back(self):
        client = self.civicbot()
        services = client.list_services()
        event = next(s for s in services if not s["metadata"])
        definition = client.get_service_definition(event["service_code"])
        self.assertEqual(definition["attributes"], [])
        # Places the city already accepted reports at.
        places = [(r["lat"], r["long"]) for r in client.list_requests(status="open", page_size=20)
                  if r.get("address")]
        self.assertTrue(places)
        sent = None
        for lat, lng in places[:5]:
            try:
                sent = client.create_request(
                    event["service_code"], dry_run=False, confirm=CONFIRM_TOKEN,
                    api_key=self.server.key, validate_remote=True, lat=lat, lng=lng,
                    description="Python client report: overflowing bin",
                    phone="13800138000", first_name="Py")
                break
            except Exception as e:  # an unlocatable place: try the next one
                last = e
        self.assertIsNotNone(sent, "no place accepted: %s" % (locals().get("last"),))
        request_id = sent.response[0]["service_request_id"]
        self.assertTrue(request_id)

        back = client.get_request(request_id)
        self.assertEqual(back["service_request_id"], request_id)
        self.assertEqual(back["service_code"], event["service_code"])
        self.assertEqual(back["status"], "open")
        self.assertEqual(back["description"], "Python client report: overflowing bin")
        self.assertNotIn("13800138000", json.dumps(back))

        for fmt in ("json", "xml"):
            again = GeoReport(self.endpoint, output_format=fmt).get_service_request(request_id)
            self.assertEqual(again["service_request_id"], request_id, fmt)
            self.assertEqual(again["status"], "open", fmt)

        listed = client.list_requests(service_request_ids=[request_id])
        self.assertEqual([r["service_request_id"] for r in listed], [request_id])

    def test_civicbot_without_a_key_is_refused(self):
        client = self.civicbot()
        event = next(s for s in client.list_services() if not s["metadata"])
        with self.assertRaises(Exception) as caught:
            client.http.post_form(client._url("requests"), {
                "service_code": event["service_code"], "lat": 30.0, "long": 120.0})
        self.assertEqual(getattr(caught.exception, "status", None), 403)


if __name__ == "__main__":
    unittest.main(verbosity=2)
