"""The initial sync's physical reference: what a client without omnisync (no store, no mapping, no resolution)
achieves against omnisync-sim for the same reads and the same number of batched record writes.

Each vendor on its own thread, over one keep-alive HTTPS connection: read every record of the object through its
list endpoint (Salesforce SOQL query with nextRecordsUrl, HubSpot contacts list with `after`, Zendesk cursor-based
incremental export), then write the given number of records in full batches of the vendor's size — updates by id
of the records read (as omnisync updates the people a system already holds), then creates for the rest (as
omnisync creates the people it lacks). Zendesk's bulk writes are jobs: each is polled until it completes, as
omnisync does.
"""
import base64
import http.client
import json
import ssl
import threading
import time
import urllib.parse


class _Conn:
    def __init__(self, url, ca_file, headers):
        u = urllib.parse.urlparse(url)
        ctx = ssl.create_default_context(cafile=ca_file)
        self.host, self.port, self.ctx, self.headers = u.hostname, u.port, ctx, headers
        self.c = http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=60)

    def call(self, method, path, body=None, form=False):
        hdrs = dict(self.headers)
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body) if form else json.dumps(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        for attempt in (1, 2):
            try:
                self.c.request(method, path, body=data, headers=hdrs)
                r = self.c.getresponse()
                raw = r.read()
                if r.status >= 300:
                    raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
                return json.loads(raw) if raw else None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.c.close()
                self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
                if attempt == 2:
                    raise


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class BareClient:
    def __init__(self, urls):
        self.urls, self.ca = urls, urls["ca_file"]
        self.read, self.written, self.errors = {}, {}, []

    # ---- Salesforce ------------------------------------------------------------------------------------------------
    def salesforce(self, writes, batch):
        c = _Conn(self.urls["salesforce"]["https"], self.ca, {})
        tok = c.call("POST", "/services/oauth2/token",
                     {"grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench-secret"}, form=True)
        c.headers = {"Authorization": "Bearer " + tok["access_token"], "Sforce-Query-Options": "batchSize=2000"}
        q = urllib.parse.quote("SELECT Id, FirstName, LastName, Email, Phone, LastModifiedDate FROM Contact")
        page = c.call("GET", f"/services/data/v62.0/query?q={q}")
        ids = [r["Id"] for r in page["records"]]
        while not page.get("done", True):
            page = c.call("GET", page["nextRecordsUrl"])
            ids += [r["Id"] for r in page["records"]]
        self.read["sf"] = len(ids)
        updates = [{"attributes": {"type": "Contact"}, "Id": i, "Phone": "+16460000001"} for i in ids[:writes]]
        creates = [{"attributes": {"type": "Contact"}, "Omnisync_Id__c": f"bare-{k}", "LastName": "Bare",
                    "Email": f"bare{k}@example.org"} for k in range(max(0, writes - len(updates)))]
        for part in _chunks(updates, batch):
            c.call("PATCH", "/services/data/v62.0/composite/sobjects", {"allOrNone": False, "records": part})
        for part in _chunks(creates, batch):
            c.call("PATCH", "/services/data/v62.0/composite/sobjects/Contact/Omnisync_Id__c",
                   {"allOrNone": False, "records": part})
        self.written["sf"] = len(updates) + len(creates)

    # ---- HubSpot -------------------------------------------------------------------------------------------------
    def hubspot(self, writes, batch):
        c = _Conn(self.urls["hubspot"]["https"], self.ca, {"Authorization": "Bearer bench"})
        ids, after = [], None
        while True:
            path = "/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname,phone"
            page = c.call("GET", path + (f"&after={after}" if after else ""))
            ids += [r["id"] for r in page["results"]]
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        self.read["hs"] = len(ids)
        updates = [{"id": i, "properties": {"phone": "+16460000001"}} for i in ids[:writes]]
        creates = [{"id": f"bare{k}@example.org", "idProperty": "email",
                    "properties": {"email": f"bare{k}@example.org", "lastname": "Bare"}}
                   for k in range(max(0, writes - len(updates)))]
        for part in _chunks(updates, batch):
            c.call("POST", "/crm/v3/objects/contacts/batch/update", {"inputs": part})
        for part in _chunks(creates, batch):
            c.call("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": part})
        self.written["hs"] = len(updates) + len(creates)

    # ---- Zendesk -------------------------------------------------------------------------------------------------
    def zendesk(self, writes, batch):
        auth = base64.b64encode(b"ops@example.com/token:bench").decode()
        c = _Conn(self.urls["zendesk"]["https"], self.ca, {"Authorization": "Basic " + auth})
        ids = []
        page = c.call("GET", "/api/v2/incremental/users/cursor.json?per_page=1000&start_time=0")
        while True:
            ids += [u["id"] for u in page["users"]]
            if page.get("end_of_stream", True):
                break
            page = c.call("GET", "/api/v2/incremental/users/cursor.json?per_page=1000&cursor="
                          + urllib.parse.quote(page["after_cursor"]))
        self.read["zd"] = len(ids)
        updates = [{"id": i, "phone": "+16460000001"} for i in ids[:writes]]
        creates = [{"external_id": f"bare-{k}", "name": "Bare", "email": f"bare{k}@example.org"}
                   for k in range(max(0, writes - len(updates)))]

        def job(method, path, users):
            j = c.call(method, path, {"users": users})["job_status"]
            while j.get("status") not in ("completed", "failed", "killed"):
                time.sleep(0.05)  # omnisync's job_poll_interval in the benchmark
                j = c.call("GET", f"/api/v2/job_statuses/{j['id']}.json")["job_status"]
        for part in _chunks(updates, batch):
            job("PUT", "/api/v2/users/update_many.json", part)
        for part in _chunks(creates, batch):
            job("POST", "/api/v2/users/create_or_update_many.json", part)
        self.written["zd"] = len(updates) + len(creates)

    def run(self, writes, floor):
        def guarded(fn, conn):
            try:
                fn(writes.get(conn, 0), floor[conn])
            except Exception as e:  # noqa: BLE001 — reported by the caller
                self.errors.append(f"{conn}: {e}")
        threads = [threading.Thread(target=guarded, args=(f, k)) for f, k in
                   ((self.salesforce, "sf"), (self.hubspot, "hs"), (self.zendesk, "zd"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.errors:
            raise RuntimeError("bare client: " + "; ".join(self.errors))
        return {"read": dict(self.read), "written": dict(self.written)}
