"""The templates, checked by implementations other than perfmon's own.

    .venv/bin/python scripts/templates.py            # both checks
    .venv/bin/python scripts/templates.py expand     # print the expanded SAM template

1. deploy/template.yaml is expanded by aws-sam-translator, the library
   behind `sam deploy` and CloudFormation's AWS::Serverless transform, and
   the expansion is linted by cfn-lint: what CloudFormation itself receives.
2. Every dashboards/generated/cloudformation*.json is created as a stack in
   moto's CloudFormation (moto's server, over HTTP), with the parameters a
   deploy passes. Every dashboard it created is read back with boto3 and
   compared with the generated body, its placeholders filled as the
   template's Fn::Sub fills them. moto's CloudFormation does not model
   AWS::CloudWatch::Alarm: the stack is created without them (the script
   says how many), and each alarm is put with PutMetricAlarm instead and
   read back with DescribeAlarms.

Exits non-zero, saying what differs, when a check fails.
"""

import glob
import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAM_TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
GENERATED = os.path.join(ROOT, "dashboards", "generated")
REGION = "eu-west-1"
# What a deploy of the chat app passes the dashboards stack: its own
# functions and API (deploy/template.yaml's outputs).
PARAMETERS = {
    "Environment": "dev",
    "FunctionNames": "perfmon-ws-connection-dev,perfmon-ws-conversation-dev",
    "ApiId": "a1b2c3d4e5",
}
SAM_PARAMETERS = {
    "CognitoUserPoolId": "eu-west-1_AbCdEf123",
    "CognitoAppClientId": "client123",
}


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: !Ref, !GetAtt, !Sub, ..."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def expand():
    """deploy/template.yaml as CloudFormation receives it after the
    AWS::Serverless transform."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class NoManagedPolicies(ManagedPolicyLoader):
        # Policies given by name need IAM to resolve; this template names
        # none (SAM writes its managed policies as ARNs).
        def __init__(self):
            pass

        def load(self):
            fail("the template names a managed policy, which expanding offline cannot resolve")

    with open(SAM_TEMPLATE) as f:
        template = yaml.load(f, Loader=CfnLoader)
    # `sam deploy` first packages each local CodeUri (cargo lambda's
    # output, target/lambda/BINARY/) and rewrites it to the S3 object it
    # uploaded, here named after the binary.
    for resource in template["Resources"].values():
        code = resource.get("Properties", {}).get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            binary = os.path.basename(code.rstrip("/"))
            resource["Properties"]["CodeUri"] = f"s3://perfmon-artifacts/{binary}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return transform(template, dict(SAM_PARAMETERS), NoManagedPolicies())


def check_sam():
    expanded = expand()
    resources = expanded["Resources"]
    serverless = [k for k, r in resources.items() if r["Type"].startswith("AWS::Serverless::")]
    if serverless:
        fail(f"still serverless after the transform: {serverless}")
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    for name, function in functions.items():
        props = function["Properties"]
        for key in ("LoggingConfig", "ReservedConcurrentExecutions", "TracingConfig", "Role"):
            if key not in props:
                fail(f"{name} has no {key} after the transform")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(expanded, f, indent=1)
        path = f.name
    lint = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "cfn-lint"), path],
        capture_output=True,
        text=True,
    )
    os.unlink(path)
    if lint.returncode != 0:
        fail(f"cfn-lint on the expanded SAM template:\n{lint.stdout}{lint.stderr}")
    kinds = {}
    for r in resources.values():
        kinds[r["Type"]] = kinds.get(r["Type"], 0) + 1
    print(f"deploy/template.yaml expanded by aws-sam-translator: {len(resources)} resources, cfn-lint clean")
    for kind in sorted(kinds):
        print(f"  {kinds[kind]:2} {kind}")


def filled(value, functions):
    """`value` with the placeholders filled as Fn::Sub fills them."""
    if isinstance(value, str):
        return (
            value.replace("${Environment}", PARAMETERS["Environment"])
            .replace("${AWS::Region}", REGION)
            .replace("${ApiId}", PARAMETERS["ApiId"])
            .replace("${Functions}", '" OR FunctionName="'.join(functions))
        )
    if isinstance(value, list):
        return [filled(v, functions) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, functions) for k, v in value.items()}
    return value


def check_stacks():
    import boto3
    from moto.server import ThreadedMotoServer

    warnings.simplefilter("ignore")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    endpoint = f"http://{host}:{port}"
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint)
    functions = PARAMETERS["FunctionNames"].split(",")

    bodies = [
        json.load(open(path))
        for path in sorted(glob.glob(os.path.join(GENERATED, "*.dashboard.json")))
    ]
    alarms = json.load(open(os.path.join(GENERATED, "alarms.json")))["alarms"]
    templates = sorted(glob.glob(os.path.join(GENERATED, "cloudformation*.json")))
    dashboards_read = 0
    skipped = {}
    for i, path in enumerate(templates):
        text = open(path).read()
        template = json.loads(text)
        parameters = [
            {"ParameterKey": k, "ParameterValue": v}
            for k, v in PARAMETERS.items()
            if k in template.get("Parameters", {})
        ]
        stack = f"perfmon-dashboards-{i + 1}"
        cloudformation.create_stack(StackName=stack, TemplateBody=text, Parameters=parameters)
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status != "CREATE_COMPLETE":
            fail(f"{os.path.basename(path)}: stack {status}")
        created = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
        }
        for logical, resource in template["Resources"].items():
            kind = resource["Type"]
            if kind != "AWS::CloudWatch::Dashboard":
                if logical in created:
                    fail(f"{logical}: moto created a {kind}, which this check does not read back")
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            if logical not in created:
                fail(f"{logical}: not created")
            sub = resource["Properties"]["DashboardBody"]["Fn::Sub"]
            generated_text = sub[0] if isinstance(sub, list) else sub
            generated = json.loads(generated_text)
            if generated not in bodies:
                fail(f"{logical}: its body is none of the generated *.dashboard.json")
            name = created[logical]
            read = cloudwatch.get_dashboard(DashboardName=name)
            expected_name = filled(resource["Properties"]["DashboardName"]["Fn::Sub"], functions)
            if read["DashboardName"] != expected_name:
                fail(f"{logical}: named {read['DashboardName']}, not {expected_name}")
            body = json.loads(read["DashboardBody"])
            if body != filled(generated, functions):
                fail(f"{logical}: the body moto's CloudFormation made differs from the generated one filled in")
            dashboards_read += 1
    if dashboards_read != len(bodies):
        fail(f"{dashboards_read} dashboards created, {len(bodies)} generated")
    print(
        f"{len(templates)} dashboards stack(s) created in moto's CloudFormation: "
        f"{dashboards_read} dashboards read back with boto3, equal to the generated bodies filled in"
    )
    for kind, count in sorted(skipped.items()):
        print(f"  not modelled by moto's CloudFormation, left out of the stack: {count} {kind}")

    keys = [
        "AlarmName", "AlarmDescription", "ComparisonOperator", "Threshold",
        "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData",
        "Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Period",
        "Dimensions", "Metrics", "Unit",
    ]
    for alarm in alarms:
        alarm = filled(alarm, functions)
        cloudwatch.put_metric_alarm(**alarm)
        read = cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"]
        if len(read) != 1:
            fail(f"{alarm['AlarmName']}: not read back")
        for key in keys:
            if key in alarm and normalised(read[0].get(key)) != normalised(alarm[key]):
                fail(f"{alarm['AlarmName']}: {key} {read[0].get(key)!r} != {alarm[key]!r}")
    print(f"  {len(alarms)} alarms put with PutMetricAlarm and read back with DescribeAlarms, equal")
    server.stop()


def normalised(value):
    """What DescribeAlarms gives back for what PutMetricAlarm took: numbers
    as floats, and no empty fields."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if v not in (None, "", [], {})}
    return value


def main():
    if sys.argv[1:] == ["expand"]:
        json.dump(expand(), sys.stdout, indent=1, sort_keys=True)
        print()
        return
    check_sam()
    check_stacks()


if __name__ == "__main__":
    main()
