"""Call linkdiff's DataForSEO domain_pages_summary and referring_networks endpoints with the
official client.

usage: dataforseo_pages_networks.py HOST LOGIN PASSWORD TARGET
Prints one JSON object: {"pages": [items], "ips": [items], "subnets": [items], "pages_total",
"crawled": [domain_pages items]}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_domain_pages_live_request_info import (
    BacklinksDomainPagesLiveRequestInfo,
)
from dataforseo_client.models.backlinks_domain_pages_summary_live_request_info import (
    BacklinksDomainPagesSummaryLiveRequestInfo,
)
from dataforseo_client.models.backlinks_referring_networks_live_request_info import (
    BacklinksReferringNetworksLiveRequestInfo,
)


def result(resp):
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, task.status_message
    return task.result[0]


def main() -> None:
    host, login, password, target = sys.argv[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        pages = result(api.domain_pages_summary_live([BacklinksDomainPagesSummaryLiveRequestInfo(target=target, limit=1000)]))
        ips = result(api.referring_networks_live([BacklinksReferringNetworksLiveRequestInfo(target=target)]))
        crawled = result(api.domain_pages_live([BacklinksDomainPagesLiveRequestInfo(target=target, limit=1000)]))
        subnets = result(api.referring_networks_live([BacklinksReferringNetworksLiveRequestInfo(target=target, network_address_type="subnet")]))
    print(json.dumps({
        "pages_total": pages.total_count,
        "pages": [i.to_dict() for i in pages.items],
        "ips": [i.to_dict() for i in ips.items],
        "subnets": [i.to_dict() for i in subnets.items],
        "crawled": [i.to_dict() for i in crawled.items],
    }))


if __name__ == "__main__":
    main()
