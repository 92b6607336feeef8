"""Call linkdiff's DataForSEO bulk endpoints with the official client and print the parsed items.

usage: dataforseo_bulk.py HOST LOGIN PASSWORD DATE_FROM [--referring-domains] TARGET...
Prints one JSON object: {"items": [...], "status_code", "task_status", "tag"}; items hold
target, new_backlinks, lost_backlinks (bulk_new_lost_backlinks) or target,
new_referring_domains, lost_referring_domains, new_referring_main_domains,
lost_referring_main_domains (bulk_new_lost_referring_domains with --referring-domains).
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_bulk_new_lost_backlinks_live_request_info import (
    BacklinksBulkNewLostBacklinksLiveRequestInfo,
)
from dataforseo_client.models.backlinks_bulk_new_lost_referring_domains_live_request_info import (
    BacklinksBulkNewLostReferringDomainsLiveRequestInfo,
)

DOMAIN_FIELDS = [
    "new_referring_domains",
    "lost_referring_domains",
    "new_referring_main_domains",
    "lost_referring_main_domains",
]


def main() -> None:
    host, login, password, date_from, *targets = sys.argv[1:]
    domains = bool(targets) and targets[0] == "--referring-domains"
    if domains:
        targets = targets[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        if domains:
            resp = api.bulk_new_lost_referring_domains_live(
                [BacklinksBulkNewLostReferringDomainsLiveRequestInfo(targets=targets, date_from=date_from, tag="ci")]
            )
        else:
            resp = api.bulk_new_lost_backlinks_live(
                [BacklinksBulkNewLostBacklinksLiveRequestInfo(targets=targets, date_from=date_from, tag="ci")]
            )
    task = resp.tasks[0]
    fields = DOMAIN_FIELDS if domains else ["new_backlinks", "lost_backlinks"]
    items = [
        {"target": i.target, **{f: getattr(i, f) for f in fields}}
        for i in task.result[0].items
    ]
    print(json.dumps({"status_code": resp.status_code, "task_status": task.status_code, "tag": task.data.get("tag") if isinstance(task.data, dict) else None, "items": items}))


if __name__ == "__main__":
    main()
