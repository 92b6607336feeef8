"""Call linkdiff's DataForSEO timeseries_summary and history endpoints with the official client.

usage: dataforseo_totals_series.py HOST LOGIN PASSWORD TARGET DATE_FROM DATE_TO
Prints one JSON object: {"daily": [timeseries_summary items, group_range day],
"history": [history items]} (items as dicts).
"""
import json
import sys

from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.backlinks_api import BacklinksApi
from dataforseo_client.models.backlinks_history_live_request_info import (
    BacklinksHistoryLiveRequestInfo,
)
from dataforseo_client.models.backlinks_timeseries_summary_live_request_info import (
    BacklinksTimeseriesSummaryLiveRequestInfo,
)


def items(resp):
    task = resp.tasks[0]
    assert resp.status_code == 20000 and task.status_code == 20000, task.status_message
    return [i.to_dict() for i in task.result[0].items]


def main() -> None:
    host, login, password, target, date_from, date_to = sys.argv[1:]
    config = Configuration(host=host, username=login, password=password)
    with ApiClient(config) as client:
        api = BacklinksApi(client)
        daily = items(api.timeseries_summary_live([BacklinksTimeseriesSummaryLiveRequestInfo(
            target=target, date_from=date_from, date_to=date_to, group_range="day")]))
        history = items(api.history_live([BacklinksHistoryLiveRequestInfo(
            target=target, date_from=date_from, date_to=date_to)]))
    print(json.dumps({"daily": daily, "history": history}))


if __name__ == "__main__":
    main()
