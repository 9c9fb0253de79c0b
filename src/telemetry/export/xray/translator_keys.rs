//! The attribute keys `opentelemetry-aws` 0.21's segment translator reads:
//! a key outside them is plain (an annotation or metadata), a key inside
//! them is one the document writer covers or declines.

/// Every key opentelemetry-aws 0.21's translator reads (its `semconv`
/// constants), whether the writer covers it or not.
pub(super) const INTERPRETED: [&str; 77] = [
    "aws.dynamodb.table_names",
    "aws.ecs.cluster.arn",
    "aws.ecs.container.arn",
    "aws.ecs.launchtype",
    "aws.ecs.task.arn",
    "aws.ecs.task.family",
    "aws.http.error.event",
    "aws.http.error_message",
    "aws.http.traced",
    "aws.log.group.arns",
    "aws.log.group.names",
    "aws.operation",
    "aws.queue.url",
    "aws.region",
    "aws.request_id",
    "aws.service",
    "aws.sqs.queue.url",
    "aws.table.name",
    "client.address",
    "client.port",
    "cloud.account.id",
    "cloud.availability_zone",
    "cloud.platform",
    "cloud.provider",
    "cloud.region",
    "code.file.path",
    "code.line.number",
    "code.module.name",
    "container.id",
    "container.name",
    "db.connection_string",
    "db.namespace",
    "db.query.text",
    "db.service",
    "db.statement",
    "db.system",
    "db.system.name",
    "db.user",
    "enduser.id",
    "exception.message",
    "exception.stacktrace",
    "exception.type",
    "host.id",
    "host.image.id",
    "host.type",
    "http.method",
    "http.request.method",
    "http.response.body.size",
    "http.response.status_code",
    "http.status_code",
    "http.status_text",
    "http.url",
    "k8s.cluster.name",
    "k8s.pod.name",
    "k8s.pod.uid",
    "peer.service",
    "rpc.message.type",
    "rpc.method",
    "rpc.service",
    "rpc.system",
    "server.address",
    "server.port",
    "service.instance.id",
    "service.name",
    "service.namespace",
    "service.version",
    "telemetry.auto.version",
    "telemetry.sdk.language",
    "telemetry.sdk.name",
    "telemetry.sdk.version",
    "url.domain",
    "url.full",
    "url.path",
    "url.port",
    "url.query",
    "url.scheme",
    "user_agent.original",
];

/// Whether `key` is in a namespace some key the translator reads (or a
/// prefix it strips) is in.
pub(super) fn read_namespace(key: &str) -> bool {
    // A byte scan: namespaces are a few bytes long, shorter than what the
    // standard library's character search costs to set up.
    let namespace = key
        .bytes()
        .position(|b| b == b'.')
        .map_or("", |dot| &key[..dot]);
    matches!(
        namespace,
        "annotation"
            | "aws"
            | "client"
            | "cloud"
            | "code"
            | "container"
            | "db"
            | "enduser"
            | "exception"
            | "host"
            | "http"
            | "k8s"
            | "metadata"
            | "peer"
            | "rpc"
            | "server"
            | "service"
            | "telemetry"
            | "url"
            | "user_agent"
    )
}

/// Whether the translator reads `key` (sorted list, so a binary search).
pub(super) fn interpreted(key: &str) -> bool {
    INTERPRETED.binary_search(&key).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreted_keys_are_sorted_and_unique() {
        assert!(INTERPRETED.windows(2).all(|w| w[0] < w[1]));
        assert!(INTERPRETED.iter().all(|key| read_namespace(key)));
        assert!(read_namespace("annotation.x") && !read_namespace("app.user"));
    }
}
