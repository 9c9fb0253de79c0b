"""Sends X-Ray segment documents (a JSON list on stdin) to a moto server's
X-Ray API with PutTraceSegments, reads their traces back with
BatchGetTraces, and prints both answers as JSON.

usage: moto_xray.py ENDPOINT < documents.json
"""
import json
import sys

import boto3

xray = boto3.client(
    "xray",
    endpoint_url=sys.argv[1],
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
documents = json.load(sys.stdin)
put = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
trace_ids = sorted({d["trace_id"] for d in documents})
got = xray.batch_get_traces(TraceIds=trace_ids)
print(
    json.dumps(
        {
            "unprocessed": put.get("UnprocessedTraceSegments", []),
            "traces": [
                {
                    "id": t["Id"],
                    "segments": [json.loads(s["Document"]) for s in t.get("Segments", [])],
                }
                for t in got.get("Traces", [])
            ],
        }
    )
)
