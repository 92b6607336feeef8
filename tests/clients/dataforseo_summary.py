"""Call linkdiff's DataForSEO summary endpoint with the official client; print the parsed result.

usage: dataforseo_summary.py HOST LOGIN PASSWORD TARGET
Prints one JSON object: {"status_code", "task_status", "result": {...the result item...}}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_summary_live_request_info import (
    BacklinksSummaryLiveRequestInfo,
)


def main() -> None:
    host, login, password, target = sys.argv[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        resp = BacklinksApi(client).summary_live(
            [BacklinksSummaryLiveRequestInfo(target=target, include_subdomains=True, tag="ci")]
        )
    task = resp.tasks[0]
    item = task.result[0]
    print(json.dumps({"status_code": resp.status_code, "task_status": task.status_code, "result": item.to_dict()}))


if __name__ == "__main__":
    main()
