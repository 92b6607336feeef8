"""Write a WARC.gz with warcio (the Python web-archiving library) for `linkdiff import`.

Usage: warcio_write.py OUT.warc.gz

Records: warcinfo; a response stored as wget stores it (chunked transfer coding, gzip content
coding, raw bytes) at 2025-05-01; its request; a revisit of it; the same page at 2025-06-01
with one link removed (plain body); a 301 redirect page.
"""
import gzip
import io
import sys

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PAGE1 = b"""<html><head><title>Source page</title></head><body>
<p>Read <a href="http://target.test/a">the A guide</a> and
<a href="http://target.test/b" rel="nofollow">B</a>.</p></body></html>"""
PAGE2 = b"""<html><head><title>Source page</title></head><body>
<p>Only <a href="http://target.test/b" rel="nofollow">B</a> now.</p></body></html>"""


def chunked(data, size=40):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def main():
    with open(sys.argv[1], "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record("test.warc.gz", {"software": "warcio"}))
        url = "http://source.test/post"
        raw = chunked(gzip.compress(PAGE1))
        headers = StatusAndHeaders("200 OK", [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Encoding", "gzip"),
        ], protocol="HTTP/1.1")
        rec = w.create_warc_record(url, "response", payload=io.BytesIO(raw),
                                   http_headers=headers,
                                   warc_headers_dict={"WARC-Date": "2025-05-01T10:00:00Z"})
        w.write_record(rec)
        req = w.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                   http_headers=StatusAndHeaders("GET /post HTTP/1.1", [("Host", "source.test")], is_http_request=True),
                                   warc_headers_dict={"WARC-Date": "2025-05-01T10:00:00Z"})
        w.write_record(req)
        rev = w.create_revisit_record(url, rec.rec_headers.get_header("WARC-Payload-Digest"),
                                      url, "2025-05-01T10:00:00Z",
                                      http_headers=headers)
        rev.rec_headers.replace_header("WARC-Date", "2025-05-15T10:00:00Z")
        w.write_record(rev)
        headers2 = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(PAGE2),
                                            http_headers=headers2,
                                            warc_headers_dict={"WARC-Date": "2025-06-01T10:00:00Z"}))
        moved = StatusAndHeaders("301 Moved Permanently", [("Location", "http://target.test/new")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://source.test/old", "response", payload=io.BytesIO(b""),
                                            http_headers=moved,
                                            warc_headers_dict={"WARC-Date": "2025-06-01T10:00:01Z"}))
    print("{}")


main()
