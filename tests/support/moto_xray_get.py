"""Prints, as JSON, the traces a moto server's X-Ray API holds for the
trace ids given as arguments (BatchGetTraces).

usage: moto_xray_get.py ENDPOINT TRACE_ID...
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
got = xray.batch_get_traces(TraceIds=sys.argv[2:])
print(
    json.dumps(
        [
            {"id": t["Id"], "segments": [json.loads(s["Document"]) for s in t.get("Segments", [])]}
            for t in got.get("Traces", [])
        ]
    )
)
