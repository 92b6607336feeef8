"""Call linkdiff's DataForSEO competitors endpoint with the official client.

usage: dataforseo_competitors.py HOST LOGIN PASSWORD TARGET [LIMIT]
Prints one JSON object: {"total_count", "items": [{"target", "rank", "intersections"}]}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_competitors_live_request_info import (
    BacklinksCompetitorsLiveRequestInfo,
)


def main() -> None:
    host, login, password, target, *rest = sys.argv[1:]
    limit = int(rest[0]) if rest else 100
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        resp = BacklinksApi(client).competitors_live(
            [BacklinksCompetitorsLiveRequestInfo(target=target, limit=limit)]
        )
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, task.status_message
    result = task.result[0]
    items = [{"target": i.target, "rank": i.rank, "intersections": i.intersections} for i in result.items]
    print(json.dumps({"total_count": result.total_count, "items": items}))


if __name__ == "__main__":
    main()
