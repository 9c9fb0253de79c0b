//! The document writer against `opentelemetry-aws`'s translator on the same
//! spans: every document it writes must be the translator's, byte for byte,
//! and every batch it declines must hold something it does not cover.

mod fixtures;

use opentelemetry::trace::{Event, SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use self::fixtures::*;
use super::attributes::Declined;
use super::document::DAEMON_HEADER;
use super::translator_keys::INTERPRETED;

#[test]
fn a_chat_message_is_written_as_the_translator_writes_it() {
    same(&lambda(), &["/aws/lambda/ws-conversation"], &chat_message());
    same(&local(), &[], &chat_message());
    same(&[], &[], &chat_message());
}

#[test]
fn spans_in_any_order_nest_and_chain_alike() {
    let mut batch = chat_message();
    batch.reverse();
    same(&lambda(), &[], &batch);
    // Without the root: the operation is a subsegment document of its own.
    same(&lambda(), &[], &batch[1..]);
    // Only the two calls: siblings without their parent in the batch.
    same(&lambda(), &[], &chat_message()[..2]);
}

#[test]
fn several_traces_in_a_batch_stay_apart() {
    let interleaved = |shift| {
        let one = chat_message();
        let two = in_another_trace(&one, shift);
        one.into_iter()
            .zip(two)
            .flat_map(|(a, b)| [a, b])
            .collect::<Vec<_>>()
    };
    same(&lambda(), &[], &interleaved(100));
    // Roots without a parent, as a server's traces start.
    let rootless = || {
        let mut batch = chat_message();
        for span in &mut batch {
            if span.span_kind == SpanKind::Server {
                span.parent_span_id = SpanId::INVALID;
            }
        }
        batch
    };
    let mut batch = in_another_trace(&rootless(), 100);
    batch.extend(rootless());
    same(&local(), &[], &batch);
    // A subsegment without a parent is dropped by the translator: declined.
    let mut orphan = chat_message()[..4].to_vec();
    orphan[3].parent_span_id = SpanId::INVALID;
    let (translated, written) = both(&local(), &[], &orphan);
    assert_eq!((translated, written), (vec![], Err(Declined)));
    // The same ids in both traces: the translator mixes siblings whose
    // parents have one id across traces, so such a batch is declined.
    let (_, written) = both(&lambda(), &[], &interleaved(0));
    assert_eq!(written, Err(Declined));
}

#[test]
fn ties_and_overlaps_give_the_same_precursors() {
    let child = |id, times| span(id, 1, SpanKind::Internal, "step", times, vec![]);
    let batch = vec![
        span(1, 0, SpanKind::Server, "root", (0, 100), vec![]),
        child(2, (10, 20)),
        child(3, (10, 20)),
        child(4, (15, 40)),
        child(5, (20, 30)),
        child(6, (40, 50)),
        span(7, 1, SpanKind::Server, "inner-server", (41, 42), vec![]),
        span(8, 6, SpanKind::Producer, "send", (41, 45), vec![]),
        span(
            9,
            1,
            SpanKind::Client,
            "call",
            (60, 70),
            vec![kv("rpc.service", "S3")],
        ),
    ];
    same(&local(), &[], &batch);
}

#[test]
fn an_http_api_invocation_is_written_alike() {
    let long: &'static str = Box::leak("M".repeat(251).into_boxed_str());
    let invocation = |method_key: &'static str, method: &'static str| {
        let mut batch = chat_message();
        let root = batch.last_mut().unwrap();
        root.attributes.retain(|kv| kv.key.as_str() != "http.route");
        root.attributes.extend([
            kv(method_key, method),
            kv("http.route", "/orders/{id}"),
            kv("http.response.status_code", 201_i64),
        ]);
        // And on an operation, a subsegment.
        batch[2].attributes.push(kv(method_key, method));
        batch
    };
    same(&lambda(), &[], &invocation("http.request.method", "POST"));
    same(&lambda(), &[], &invocation("http.method", "GET"));
    same(&lambda(), &[], &invocation("http.request.method", long));
    same(&lambda(), &[], &invocation("http.request.method", ""));
}

#[test]
fn annotations_and_metadata_take_every_value_type() {
    let long = "x".repeat(1001);
    let long: &'static str = Box::leak(long.into_boxed_str());
    let batch = vec![span(
        1,
        0,
        SpanKind::Server,
        "root",
        (0, 5),
        vec![
            kv("perf_handler", 7_i64),
            kv("perf_outcome", long),
            kv("flag", true),
            kv("ratio", 0.25),
            kv("nan", f64::NAN),
            kv("quoted", "a \"b\" \\ c\n"),
            kv("unicode", "é€"),
            KeyValue::new("ints", Value::Array(Array::I64(vec![1, 2]))),
            KeyValue::new("floats", Value::Array(Array::F64(vec![1.5]))),
            KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
            KeyValue::new("empty", Value::Array(Array::String(vec![]))),
            kv("service.name", "renamed"),
            kv("rpc.system", "grpc"),
            kv("http.response.status_code", " 404 "),
            kv("telemetry.sdk.version", ""),
            kv("cloud.account.id", ""),
        ],
    )];
    same(&local(), &[], &batch);
    let mut with_annotation = local();
    with_annotation.push(kv("perf_handler", "resource"));
    same(&with_annotation, &[], &batch);
}

#[test]
fn the_resource_and_span_each_count_for_their_kind() {
    let batch = vec![
        span(
            1,
            0,
            SpanKind::Server,
            "root",
            (0, 50),
            vec![
                kv("aws.region", "us-east-1"),
                kv("aws.request_id", "r"),
                KeyValue::new("aws.dynamodb.table_names", strings(&[])),
            ],
        ),
        span(
            2,
            1,
            SpanKind::Client,
            "DynamoDB.Query",
            (1, 2),
            vec![
                kv("rpc.system", "aws-api"),
                KeyValue::new("aws.dynamodb.table_names", strings(&["", ""])),
                kv("rpc.method", 3_i64),
                kv("db.system.name", "aws.dynamodb"),
            ],
        ),
        span(
            3,
            1,
            SpanKind::Consumer,
            "consume",
            (3, 4),
            vec![KeyValue::new("aws.log.group.names", strings(&["", "/own"]))],
        ),
    ];
    same(&lambda(), &["/configured"], &batch);
    same(&local(), &["/configured"], &batch);
    same(&local(), &[""], &batch);
}

/// Every key the translator reads, alone on a span: written alike, or
/// declined.
#[test]
fn every_interpreted_key_is_written_alike_or_declined() {
    let mut covered = 0;
    for key in INTERPRETED {
        for value in [Value::from("aws-api"), Value::from(200_i64)] {
            for kind in [SpanKind::Server, SpanKind::Client, SpanKind::Internal] {
                let batch = vec![span(
                    1,
                    9,
                    kind.clone(),
                    "op",
                    (0, 5),
                    vec![KeyValue::new(key, value.clone())],
                )];
                let (expected, written) = both(&local(), &[], &batch);
                if let Ok(written) = written {
                    assert_eq!(written, expected, "{key} = {value:?} on {kind:?}");
                    covered += 1;
                }
            }
        }
        // And in the resource.
        let mut resource = local();
        resource.push(KeyValue::new(key, "eu-west-1"));
        let batch = chat_message();
        if let (expected, Ok(written)) = both(&resource, &[], &batch) {
            assert_eq!(written, expected, "{key} in the resource");
        }
    }
    assert!(covered >= 60, "only {covered} cases written");
}

#[test]
fn batches_only_the_translator_writes_are_declined() {
    let declined = |batch: Vec<SpanData>, resource: Vec<KeyValue>| {
        assert_eq!(
            written(&self::resource(&resource), &[], &batch),
            Err(Declined)
        );
    };
    let plain = || span(1, 0, SpanKind::Server, "root", (0, 5), vec![]);
    let mut failed = plain();
    failed.status = Status::error("boom");
    declined(vec![failed], local());
    let mut thrown = plain();
    thrown
        .events
        .events
        .push(Event::new("exception", now(), vec![], 0));
    declined(vec![thrown], local());
    declined(
        vec![span(
            1,
            0,
            SpanKind::Server,
            "root",
            (0, 5),
            vec![kv("url.full", "https://example.com/")],
        )],
        local(),
    );
    declined(
        vec![span(
            1,
            0,
            SpanKind::Server,
            "root",
            (0, 5),
            vec![kv("annotation.x", "y")],
        )],
        local(),
    );
    // A server span is named after its service; others after themselves.
    declined(
        vec![span(1, 9, SpanKind::Internal, "naïve", (0, 5), vec![])],
        local(),
    );
    declined(
        vec![span(1, 9, SpanKind::Internal, "a\\b", (0, 5), vec![])],
        local(),
    );
    declined(vec![plain(), plain()], local());
    declined(
        vec![span(1, 1, SpanKind::Internal, "self", (0, 5), vec![])],
        local(),
    );
    // Two spans each the other's parent.
    declined(
        vec![
            span(2, 3, SpanKind::Internal, "a", (0, 5), vec![]),
            span(3, 2, SpanKind::Internal, "b", (1, 4), vec![]),
        ],
        local(),
    );
    declined(vec![plain()], vec![kv("service.version", "1.2.3")]);
    // Events that are not exceptions are written (and not shown).
    let mut logged = plain();
    logged
        .events
        .events
        .push(Event::new("log", now(), vec![kv("message", "hi")], 0));
    same(&local(), &[], &[logged]);
}

#[test]
fn fitted_http_spans_are_all_translated() {
    let path: &'static str = Box::leak(format!("/orders/{}", "y".repeat(20_000)).into_boxed_str());
    let agent: &'static str = Box::leak("a".repeat(2_000).into_boxed_str());
    let mut batch = vec![
        span(
            1,
            0,
            SpanKind::Server,
            "axum_api",
            (0, 100),
            vec![
                kv("http.request.method", "GET"),
                kv("url.path", path),
                kv("server.address", "abc.lambda-url.us-east-1.on.aws"),
                kv("client.address", "203.0.113.7"),
                kv("user_agent.original", agent),
                kv("http.response.status_code", 404_i64),
            ],
        ),
        span(
            2,
            1,
            SpanKind::Internal,
            "/orders/{id}",
            (10, 90),
            vec![kv("http.route", "/orders/{id}")],
        ),
    ];
    for span in &mut batch {
        super::fit::fit(span);
    }
    let documents = translated(&resource(&lambda()), &[], &batch).join("\n");
    for id in [1_u64, 2] {
        assert!(
            documents.contains(&format!("\"id\":\"{id:016x}\"")),
            "span {id} is translated: {documents}"
        );
    }
    assert!(documents.contains("\"name\":\"/orders/id\""), "{documents}");
    let document: serde_json::Value = serde_json::from_str(&documents).unwrap();
    let url = document["http"]["request"]["url"].as_str().unwrap();
    assert!(
        url.len() <= 250 && url.starts_with("http://abc.lambda-url"),
        "{url}"
    );
    assert_eq!(
        document["http"]["request"]["user_agent"]
            .as_str()
            .unwrap()
            .len(),
        250
    );
}

#[test]
fn links_are_added_to_what_the_translator_writes() {
    use opentelemetry::trace::{Link, SpanContext, TraceFlags, TraceId, TraceState};
    let producer = SpanContext::new(
        TraceId::from_hex("6b161ac4de328842e9225770fdc51c72").unwrap(),
        SpanId::from_hex("604b43426d27039c").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let mut linked = chat_message();
    linked[1].links.links = vec![
        Link::new(producer.clone(), vec![], 0),
        Link::new(producer, vec![kv("messaging.operation.type", "send")], 0),
    ];
    let (expected, written) = both(&lambda(), &[], &linked);
    let written = written.expect("the writer covers spans with links");
    let parse = |d: &String| serde_json::from_str::<serde_json::Value>(d).unwrap();
    let id = format!("{}", linked[1].span_context.span_id());
    let find = |docs: &[serde_json::Value]| -> serde_json::Value {
        fn walk(doc: &serde_json::Value, id: &str) -> Option<serde_json::Value> {
            if doc["id"] == id {
                return Some(doc.clone());
            }
            doc["subsegments"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|d| walk(d, id))
        }
        docs.iter().find_map(|d| walk(d, &id)).unwrap()
    };
    let mut mine = find(&written.iter().map(parse).collect::<Vec<_>>());
    let theirs = find(&expected.iter().map(parse).collect::<Vec<_>>());
    let links = mine.as_object_mut().unwrap().remove("links").unwrap();
    assert_eq!(
        links,
        serde_json::json!([
            {"trace_id": "1-6b161ac4-de328842e9225770fdc51c72", "id": "604b43426d27039c"},
            {"trace_id": "1-6b161ac4-de328842e9225770fdc51c72", "id": "604b43426d27039c",
             "attributes": {"messaging.operation.type": "send"}},
        ])
    );
    // Everything else is the translator's, nested subsegments included.
    let strip = |mut doc: serde_json::Value| {
        if let Some(subs) = doc.get_mut("subsegments").and_then(|s| s.as_array_mut()) {
            subs.clear();
        }
        doc
    };
    assert_eq!(strip(mine), strip(theirs));
}

/// The writer's documents for `batch` with datagrams of at most `limit`
/// bytes, and what it did, with a send that fails on the calls `failing`;
/// the largest datagram sent.
fn limited(
    batch: &[SpanData],
    limit: usize,
    failing: &[usize],
) -> (
    Vec<serde_json::Value>,
    super::document::Written<usize>,
    usize,
) {
    let mut writer = super::document::DocumentWriter::new(&indexed(), vec![]);
    writer.set_resource(lambda());
    let (mut documents, mut calls, mut largest) = (Vec::new(), 0, 0);
    let written = writer
        .write(batch, &mut Vec::new(), limit, |datagram| {
            calls += 1;
            if failing.contains(&calls) {
                return Err(calls);
            }
            largest = largest.max(datagram.len());
            let text = &datagram[DAEMON_HEADER.len()..];
            documents.push(serde_json::from_slice(text).unwrap());
            Ok(())
        })
        .unwrap();
    (documents, written, largest)
}

#[test]
fn a_failed_send_loses_its_own_spans_only() {
    let one = chat_message();
    let mut batch = one.clone();
    batch.extend(in_another_trace(&one, 100));
    let (documents, written, _) = limited(&batch, usize::MAX, &[1]);
    assert_eq!(documents.len(), 1, "the second trace's document went");
    assert_eq!(
        (written.sent, written.lost, written.error),
        (one.len(), one.len(), Some(1))
    );
}

#[test]
fn a_document_over_the_limit_is_split_one_span_each_and_a_span_over_it_is_lost() {
    let batch = chat_message();
    let (whole, _, size) = limited(&batch, usize::MAX, &[]);
    assert_eq!(whole.len(), 1, "one document, everything nested");
    let (documents, written, largest) = limited(&batch, size - 1, &[]);
    assert!(largest < size);
    assert_eq!(documents.len(), batch.len(), "one document per span");
    assert_eq!((written.sent, written.lost), (batch.len(), 0));
    for doc in &documents {
        assert!(doc.get("subsegments").is_none(), "{doc}");
        assert!(
            doc["trace_id"].is_string() && doc["id"].is_string(),
            "{doc}"
        );
    }
    // Every span once, each subsegment naming its parent.
    let mut sent: Vec<String> = documents
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let mut spans: Vec<String> = batch
        .iter()
        .map(|s| s.span_context.span_id().to_string())
        .collect();
    sent.sort();
    spans.sort();
    assert_eq!(sent, spans);
    for doc in documents.iter().filter(|d| d["type"] == "subsegment") {
        assert!(doc["parent_id"].is_string(), "{doc}");
    }
    // A limit no single span fits: everything lost, nothing sent.
    let (documents, written, _) = limited(&batch, DAEMON_HEADER.len() + 10, &[]);
    assert_eq!(
        (documents.len(), written.sent, written.lost),
        (0, 0, batch.len())
    );
}
