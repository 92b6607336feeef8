"""Call linkdiff's DataForSEO endpoint with the official client and print the parsed items.

usage: dataforseo_bulk.py HOST LOGIN PASSWORD DATE_FROM TARGET...
Prints one JSON object: {"items": [{"target", "new_backlinks", "lost_backlinks"}], "status_code", "tag"}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_bulk_new_lost_backlinks_live_request_info import (
    BacklinksBulkNewLostBacklinksLiveRequestInfo,
)


def main() -> None:
    host, login, password, date_from, *targets = sys.argv[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        resp = api.bulk_new_lost_backlinks_live(
            [BacklinksBulkNewLostBacklinksLiveRequestInfo(targets=targets, date_from=date_from, tag="ci")]
        )
    task = resp.tasks[0]
    items = [
        {"target": i.target, "new_backlinks": i.new_backlinks, "lost_backlinks": i.lost_backlinks}
        for i in task.result[0].items
    ]
    print(json.dumps({"status_code": resp.status_code, "task_status": task.status_code, "tag": task.data.get("tag") if isinstance(task.data, dict) else None, "items": items}))


if __name__ == "__main__":
    main()
