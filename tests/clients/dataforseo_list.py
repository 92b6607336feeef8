"""Call one of linkdiff's DataForSEO list endpoints with the official client; print the result.

usage: dataforseo_list.py HOST LOGIN PASSWORD backlinks|referring_domains|anchors REQUEST_JSON
REQUEST_JSON is the task object (target, filters, order_by, limit, ...). Prints one JSON object:
{"status_code", "task_status", "task_message", "result": {...the result or null...}}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_anchors_live_request_info import BacklinksAnchorsLiveRequestInfo
from dataforseo_client.models.backlinks_backlinks_live_request_info import BacklinksBacklinksLiveRequestInfo
from dataforseo_client.models.backlinks_referring_domains_live_request_info import (
    BacklinksReferringDomainsLiveRequestInfo,
)


def main() -> None:
    host, login, password, endpoint, request = sys.argv[1:]
    task = json.loads(request)
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        if endpoint == "backlinks":
            resp = api.backlinks_live([BacklinksBacklinksLiveRequestInfo.from_dict(task)])
        elif endpoint == "referring_domains":
            resp = api.referring_domains_live([BacklinksReferringDomainsLiveRequestInfo.from_dict(task)])
        else:
            resp = api.anchors_live([BacklinksAnchorsLiveRequestInfo.from_dict(task)])
    t = resp.tasks[0]
    result = t.result[0].to_dict() if t.result else None
    print(json.dumps({"status_code": resp.status_code, "task_status": t.status_code, "task_message": t.status_message, "result": result}))


if __name__ == "__main__":
    main()
