"""Call linkdiff's DataForSEO timeseries endpoint with the official client; print the parsed result.

usage: dataforseo_timeseries.py HOST LOGIN PASSWORD TARGET DATE_FROM DATE_TO GROUP_RANGE
Prints one JSON object: {"status_code", "task_status", "result": {...the result...}}.
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_timeseries_new_lost_summary_live_request_info import (
    BacklinksTimeseriesNewLostSummaryLiveRequestInfo,
)


def main() -> None:
    host, login, password, target, date_from, date_to, group_range = sys.argv[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        resp = BacklinksApi(client).timeseries_new_lost_summary_live(
            [
                BacklinksTimeseriesNewLostSummaryLiveRequestInfo(
                    target=target, date_from=date_from, date_to=date_to, group_range=group_range, tag="ci"
                )
            ]
        )
    task = resp.tasks[0]
    print(json.dumps({"status_code": resp.status_code, "task_status": task.status_code, "result": task.result[0].to_dict()}))


if __name__ == "__main__":
    main()
