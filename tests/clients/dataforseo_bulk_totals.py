"""Call linkdiff's DataForSEO bulk_ranks, bulk_backlinks and bulk_referring_domains with the
official client, at their `live` paths and (with --ai) their `live.ai` paths.

usage: dataforseo_bulk_totals.py HOST LOGIN PASSWORD [--ai] TARGET...
Prints one JSON object: {"ranks": [...], "ranks_100": [...], "backlinks": [...],
"referring_domains": [...], "pages_summary": [...]}, each a list of the parsed items (dicts).
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_bulk_backlinks_live_request_info import (
    BacklinksBulkBacklinksLiveRequestInfo,
)
from dataforseo_client.models.backlinks_bulk_pages_summary_live_request_info import (
    BacklinksBulkPagesSummaryLiveRequestInfo,
)
from dataforseo_client.models.backlinks_bulk_ranks_live_request_info import (
    BacklinksBulkRanksLiveRequestInfo,
)
from dataforseo_client.models.backlinks_bulk_referring_domains_live_request_info import (
    BacklinksBulkReferringDomainsLiveRequestInfo,
)


def items(resp):
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, (resp.status_code, task.status_message)
    return [i.to_dict() for i in task.result[0].items]


def main() -> None:
    host, login, password, *targets = sys.argv[1:]
    ai = bool(targets) and targets[0] == "--ai"
    if ai:
        targets = targets[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        call = lambda method, body: getattr(api, method)(body)
        if ai:
            # The client has no `.ai` methods: send the same request to the `.ai` path.
            def call(method, body):
                path = "/v3/backlinks/" + method.removesuffix("_live") + "/live.ai"
                params = client.param_serialize("POST", path, body=[b.to_dict() for b in body],
                                                auth_settings=["basicAuth"], header_params={"Content-Type": "application/json"})
                data = client.call_api(*params)
                data.read()
                return client.response_deserialize(
                    data, {"200": getattr(__import__("dataforseo_client.models", fromlist=["x"]),
                                          "Backlinks" + "".join(p.title() for p in method.split("_")) + "ResponseInfo")}).data
        out = {
            "ranks": items(call("bulk_ranks_live", [BacklinksBulkRanksLiveRequestInfo(targets=targets)])),
            "ranks_100": items(call("bulk_ranks_live", [BacklinksBulkRanksLiveRequestInfo(targets=targets, rank_scale="one_hundred")])),
            "backlinks": items(call("bulk_backlinks_live", [BacklinksBulkBacklinksLiveRequestInfo(targets=targets)])),
            "referring_domains": items(call("bulk_referring_domains_live", [BacklinksBulkReferringDomainsLiveRequestInfo(targets=targets)])),
            "pages_summary": items(call("bulk_pages_summary_live", [BacklinksBulkPagesSummaryLiveRequestInfo(targets=targets)])),
            "available_filters": api.backlinks_available_filters().tasks[0].result[0].to_dict(),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
