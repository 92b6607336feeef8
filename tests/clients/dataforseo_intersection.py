"""Call linkdiff's DataForSEO domain_intersection (or, with --pages, page_intersection)
endpoint with the official client.

usage: dataforseo_intersection.py HOST LOGIN PASSWORD [--filters JSON] [--order-by JSON]
       [--pages] TARGETS_JSON [EXCLUDED...]
With --pages: {"total_count", "items": [{"pages": {key: url_from}, "links": {key: n},
"intersections_count"}]}.
TARGETS_JSON is the `targets` object ({"1": "a.test", "2": "b.test"}). Prints one JSON
object: {"total_count", "items": [{"domains": {key: referring domain}, "backlinks": {key: n},
"intersections_count"}]}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_domain_intersection_live_request_info import (
    BacklinksDomainIntersectionLiveRequestInfo,
)
from dataforseo_client.models.backlinks_page_intersection_live_request_info import (
    BacklinksPageIntersectionLiveRequestInfo,
)


def options(args):
    """--filters JSON and --order-by JSON taken out of args."""
    out = {}
    for flag, key in (("--filters", "filters"), ("--order-by", "order_by")):
        if flag in args:
            i = args.index(flag)
            out[key] = json.loads(args[i + 1])
            del args[i : i + 2]
    return out


def pages(host, login, password, targets, excluded, opts):
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        resp = BacklinksApi(client).page_intersection_live(
            [BacklinksPageIntersectionLiveRequestInfo(
                targets=json.loads(targets), exclude_targets=excluded or None, limit=1000,
                internal_list_limit=1000, **opts)]
        )
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, task.status_message
    result = task.result[0]
    items = [
        {
            "pages": {k: v[0].url_from for k, v in i.page_intersection.items()},
            "links": {k: len(v) for k, v in i.page_intersection.items()},
            "intersections_count": i.summary.intersections_count,
        }
        for i in result.items
    ]
    print(json.dumps({"total_count": result.total_count, "items": items}))


def main() -> None:
    args = sys.argv[1:]
    opts = options(args)
    host, login, password, targets, *excluded = args
    if targets == "--pages":
        return pages(host, login, password, excluded[0], excluded[1:], opts)
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        resp = BacklinksApi(client).domain_intersection_live(
            [BacklinksDomainIntersectionLiveRequestInfo(
                targets=json.loads(targets), exclude_targets=excluded or None, limit=1000,
                **opts)]
        )
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, task.status_message
    result = task.result[0]
    items = [
        {
            "domains": {k: v.target for k, v in i.domain_intersection.items()},
            "backlinks": {k: v.backlinks for k, v in i.domain_intersection.items()},
            "intersections_count": i.summary.intersections_count,
        }
        for i in result.items
    ]
    print(json.dumps({"total_count": result.total_count, "items": items}))


if __name__ == "__main__":
    main()
