//! The ADOT Lambda-layer collector configuration, generated from the
//! catalog: the awsemf exporter declares exactly the catalog's metrics,
//! dimension sets and units; traces go to X-Ray through the awsxray
//! exporter, which annotates the catalog's indexed attributes, or
//! ([`CollectorTraces::SignedOtlp`]) to CloudWatch's OTLP traces endpoint,
//! signed by the sigv4auth extension, as ADOT now recommends.

use std::fmt::Write as _;

use perfmon_lambda::Catalog;

/// Where the collector sends traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CollectorTraces {
    /// The awsxray exporter (`PutTraceSegments`): `xray`, the default.
    #[default]
    AwsXray,
    /// OTLP/HTTP to `https://xray.<region>.amazonaws.com/v1/traces`, gzip,
    /// signed with SigV4 (the sigv4auth extension): `otlp`. The account
    /// needs CloudWatch Transaction Search on.
    SignedOtlp,
}

impl CollectorTraces {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CollectorTraces::AwsXray => "xray",
            CollectorTraces::SignedOtlp => "otlp",
        }
    }
}

impl std::str::FromStr for CollectorTraces {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "xray" => Ok(CollectorTraces::AwsXray),
            "otlp" => Ok(CollectorTraces::SignedOtlp),
            other => Err(format!("traces go to `xray` or `otlp`, not {other:?}")),
        }
    }
}

/// The configuration's text, with traces sent as `traces` says.
pub fn config(catalog: &Catalog, traces: CollectorTraces) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = write!(
        w,
        "\
# The ADOT Lambda-layer collector configuration, generated from catalog
# version {version} (namespace {namespace}) by
# `perfmon collector generate --traces {traces}`.
# Do not edit: change the catalog and regenerate.
#
# The function loads it with
#   OPENTELEMETRY_COLLECTOR_CONFIG_URI=/var/task/collector.yaml
# (package this file next to the bootstrap binary). The functions then
# export with
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318
#
# The ADOT layer ships no processors, so none are used: the OTel instrument
# names already are the CloudWatch metric names.

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
      http:
        endpoint: localhost:4318

{extensions}exporters:
",
        version = catalog.version,
        namespace = catalog.namespace,
        traces = traces.name(),
        extensions = match traces {
            CollectorTraces::AwsXray => "",
            CollectorTraces::SignedOtlp => SIGV4_EXTENSION,
        },
    );
    match traces {
        CollectorTraces::AwsXray => {
            let _ = write!(
                w,
                "  \
  # Traces to X-Ray. The catalog's indexed attributes become annotations
  # (searchable); every other attribute goes to metadata.
  awsxray:
    indexed_attributes:
"
            );
            for attribute in &catalog.indexed_attributes {
                let _ = writeln!(w, "      - {attribute}");
            }
        }
        CollectorTraces::SignedOtlp => w.push_str(OTLP_TRACES_EXPORTER),
    }
    let _ = write!(
        w,
        "
  # Metrics to CloudWatch as EMF. NoDimensionRollup: only the dimension sets
  # declared below, never the \"all attributes\" set or rollups of it.
  # Selectors are anchored regular expressions, so that one name never
  # matches another that starts with it.
  #
  # output_destination: stdout. On Lambda the EMF lines then go to the
  # function's own log group, /aws/lambda/<function>, whose retention the
  # function's template sets, exactly as perfmon's collector-less EMF path
  # does. Sent to CloudWatch Logs instead, they would land in the default
  # /metrics/default group, kept forever, and every flush would make
  # CloudWatch Logs API calls that need their own IAM permissions.
  awsemf:
    output_destination: stdout
    namespace: {}
    dimension_rollup_option: NoDimensionRollup
    metric_declarations:
",
        yaml_string(&catalog.namespace)
    );
    let metrics = catalog.metrics();
    let mut groups: Vec<(&Vec<Vec<String>>, Vec<&str>)> = Vec::new();
    for metric in &metrics {
        match groups
            .iter_mut()
            .find(|(sets, _)| **sets == metric.dimensions)
        {
            Some((_, names)) => names.push(&metric.name),
            None => groups.push((&metric.dimensions, vec![&metric.name])),
        }
    }
    for (sets, names) in groups {
        let _ = writeln!(w, "      - dimensions:");
        for set in sets {
            let keys: Vec<String> = set.iter().map(|k| yaml_string(k)).collect();
            let _ = writeln!(w, "          - [{}]", keys.join(", "));
        }
        let _ = writeln!(w, "        metric_name_selectors:");
        for name in names {
            let _ = writeln!(w, "          - \"^{}$\"", regex_escape(name));
        }
    }
    let _ = writeln!(
        w,
        "    # CloudWatch units (the instruments carry UCUM units such as \"ms\").\n    metric_descriptors:"
    );
    for metric in &metrics {
        let _ = writeln!(
            w,
            "      - metric_name: {}\n        unit: {}\n        overwrite: true",
            yaml_string(&metric.name),
            metric.unit.cloudwatch()
        );
    }
    let _ = write!(
        w,
        "
service:
{service_extensions}  pipelines:
    traces:
      receivers: [otlp]
      exporters: [{traces_exporter}]
    metrics:
      receivers: [otlp]
      exporters: [awsemf]
    # No logs pipeline: awsxray and awsemf take no logs, and the log lines
    # already reach CloudWatch Logs from stdout, correlated by traceId; keep
    # OTEL_LOGS_EXPORTER unset with this configuration. To
    # send OTel log records to an OTLP backend instead, add an otlphttp
    # exporter and
    #   logs:
    #     receivers: [otlp]
    #     exporters: [otlphttp]
",
        service_extensions = match traces {
            CollectorTraces::AwsXray => "",
            CollectorTraces::SignedOtlp => "  extensions: [sigv4auth]\n",
        },
        traces_exporter = match traces {
            CollectorTraces::AwsXray => "awsxray",
            CollectorTraces::SignedOtlp => OTLP_TRACES,
        },
    );
    out
}

/// The exporter of traces over signed OTLP.
const OTLP_TRACES: &str = "otlphttp/xray";

/// The SigV4 signer of the OTLP traces exporter: the function's role, in
/// its own region (`AWS_REGION`, which Lambda sets).
const SIGV4_EXTENSION: &str = "\
extensions:
  # Signs each OTLP request with the function's credentials (SigV4).
  sigv4auth:
    region: ${env:AWS_REGION}
    service: xray

";

/// Traces over OTLP/HTTP to CloudWatch's traces endpoint.
const OTLP_TRACES_EXPORTER: &str = "  \
  # Traces to CloudWatch's OTLP endpoint (X-Ray and Transaction Search),
  # gzip, signed by sigv4auth. Span attributes arrive as they are; the
  # account needs Transaction Search on, and the function's role
  # xray:PutTraceSegments (AWSXrayWriteOnlyPolicy).
  otlphttp/xray:
    traces_endpoint: https://xray.${env:AWS_REGION}.amazonaws.com/v1/traces
    compression: gzip
    auth:
      authenticator: sigv4auth
";

/// Catalog names are letters, digits and `._-/#:`; quote the ones YAML
/// would read otherwise.
fn yaml_string(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        s.to_owned()
    } else {
        format!("{s:?}")
    }
}

fn regex_escape(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escape = ".#".contains(c).then_some('\\');
            escape.into_iter().chain(std::iter::once(c))
        })
        .collect::<String>()
        .replace('\\', "\\\\")
}
