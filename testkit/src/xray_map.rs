//! What X-Ray would draw: a service map built from segment documents, and
//! the documents the collector's `awsxray` exporter (the ADOT path) makes
//! from OTLP spans.
//!
//! The map follows X-Ray's rules as its documentation states them:
//! - "Each AWS resource that sends data to X-Ray appears as a service in
//!   the graph" (concepts, service graph,
//!   <https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-servicegraph>):
//!   every segment is a node, named by its `name` and typed by its
//!   `origin` (segment documents,
//!   <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>).
//! - "For services that don't send their own segments, like Amazon
//!   DynamoDB, X-Ray uses subsegments to generate inferred segments and
//!   downstream nodes on the service map" (concepts, subsegments): a
//!   subsegment with `namespace` `aws` ("for AWS SDK calls") or `remote`
//!   ("for other downstream calls") is a node named by the subsegment's
//!   `name`, with an edge from the segment it belongs to. A subsegment
//!   without a namespace is local work and draws nothing.
//! - A document's `links` (span links, which the collector's `awsxray`
//!   exporter writes) to a subsegment drawn as a node give an edge from
//!   that node to the linking document's segment: X-Ray's linked traces
//!   draw an SQS producer, the queue and its Lambda consumer so
//!   (<https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html>).
//! - A node's health is its document's `error` ("a client error occurred",
//!   4xx), `throttle` ("request was throttled", 429) and `fault` ("a server
//!   error occurred", 5xx) (segment documents, error fields).
//!
//! The `awsxray` translation below ports the rules of the collector's
//! `exporter/awsxrayexporter/internal/translator` (`segment.go` for
//! `name`, `namespace`, `origin` and the document type; `cause.go` for the
//! error fields and `cause`): the local collector runs rotel, which has no
//! `awsxray` exporter to capture.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

/// A node: its name and its type (`origin`, `AWS::<name>` for an AWS
/// service, `remote`, or `service` for a segment without an origin).
pub type Node = (String, String);

/// A node's health over the documents drawn.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub ok: u32,
    pub error: u32,
    pub throttle: u32,
    pub fault: u32,
}

/// The nodes and edges X-Ray would draw, and the segments from our code.
#[derive(Debug, Default)]
pub struct ServiceMap {
    pub nodes: BTreeMap<Node, Health>,
    pub edges: BTreeSet<(Node, Node)>,
    /// The segment documents (not subsegments): one per invocation.
    pub segments: Vec<Value>,
    /// Every segment and subsegment, each without its nested subsegments.
    pub documents: Vec<Value>,
}

impl ServiceMap {
    /// The map of `documents`: segment documents as sent to the daemon
    /// (subsegments nested or separate, with `type: subsegment`).
    pub fn of(documents: &[Value]) -> ServiceMap {
        let mut flat = Vec::new();
        for doc in documents {
            flatten(doc, None, &mut flat);
        }
        let by_id: HashMap<&str, &Flat> = flat.iter().map(|f| (f.id.as_str(), f)).collect();
        let mut map = ServiceMap {
            documents: flat.iter().map(|f| f.doc.clone()).collect(),
            ..ServiceMap::default()
        };
        let mut drawn: HashMap<&str, Node> = HashMap::new();
        for f in &flat {
            if !f.subsegment {
                map.segments.push(f.doc.clone());
                map.count(segment_node(&f.doc), &f.doc);
                continue;
            }
            let namespace = f.doc["namespace"].as_str().unwrap_or("");
            if namespace != "aws" && namespace != "remote" {
                continue;
            }
            let name = f.doc["name"].as_str().unwrap_or("").to_owned();
            let kind = if namespace == "aws" {
                format!("AWS::{name}")
            } else {
                "remote".to_owned()
            };
            let node = (name, kind);
            drawn.insert(f.id.as_str(), node.clone());
            map.count(node.clone(), &f.doc);
            if let Some(owner) = owning_segment(f, &by_id) {
                map.edges.insert((segment_node(&owner.doc), node));
            }
        }
        for f in &flat {
            let owner = if f.subsegment {
                owning_segment(f, &by_id)
            } else {
                Some(f)
            };
            let Some(owner) = owner else { continue };
            for link in f.doc["links"].as_array().into_iter().flatten() {
                if let Some(node) = link["id"].as_str().and_then(|id| drawn.get(id)) {
                    map.edges.insert((node.clone(), segment_node(&owner.doc)));
                }
            }
        }
        map
    }

    fn count(&mut self, node: Node, doc: &Value) {
        let h = self.nodes.entry(node).or_default();
        let flag = |k: &str| doc[k].as_bool().unwrap_or(false);
        if flag("fault") {
            h.fault += 1;
        } else if flag("throttle") {
            h.throttle += 1;
        } else if flag("error") {
            h.error += 1;
        } else {
            h.ok += 1;
        }
    }

    /// The health of the node called `name`.
    pub fn health(&self, name: &str) -> Health {
        self.nodes
            .iter()
            .find(|((n, _), _)| n == name)
            .map(|(_, h)| *h)
            .unwrap_or_else(|| panic!("no node {name} in {self}"))
    }

    /// Whether an edge goes from `from` to the node called `to`.
    pub fn has_edge(&self, from: &str, to: &str) -> bool {
        self.edges
            .iter()
            .any(|((f, _), (t, _))| f == from && t == to)
    }
}

impl std::fmt::Display for ServiceMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for ((name, kind), h) in &self.nodes {
            writeln!(f, "node {name} [{kind}] {h:?}")?;
        }
        for ((from, _), (to, kind)) in &self.edges {
            writeln!(f, "edge {from} -> {to} [{kind}]")?;
        }
        Ok(())
    }
}

struct Flat {
    id: String,
    parent: Option<String>,
    subsegment: bool,
    /// The segment a nested subsegment was sent in.
    enclosing: Option<String>,
    doc: Value,
}

fn flatten(doc: &Value, enclosing: Option<&str>, out: &mut Vec<Flat>) {
    let id = doc["id"].as_str().unwrap_or("").to_owned();
    let subsegment = enclosing.is_some() || doc["type"] == "subsegment";
    let mut own = doc.clone();
    if let Some(o) = own.as_object_mut() {
        o.remove("subsegments");
    }
    out.push(Flat {
        id: id.clone(),
        parent: doc["parent_id"].as_str().map(str::to_owned),
        subsegment,
        enclosing: enclosing.map(str::to_owned),
        doc: own,
    });
    let root = enclosing.unwrap_or(&id).to_owned();
    for sub in doc["subsegments"].as_array().into_iter().flatten() {
        flatten(sub, Some(&root), out);
    }
}

/// The segment a subsegment belongs to: the document it was nested in, or
/// the first segment up its `parent_id` chain.
fn owning_segment<'a>(f: &'a Flat, by_id: &HashMap<&str, &'a Flat>) -> Option<&'a Flat> {
    if let Some(enclosing) = &f.enclosing {
        let e = by_id.get(enclosing.as_str())?;
        return if e.subsegment {
            owning_segment(e, by_id)
        } else {
            Some(e)
        };
    }
    let mut at = by_id.get(f.parent.as_deref()?)?;
    while at.subsegment {
        at = by_id.get(at.parent.as_deref()?)?;
    }
    Some(at)
}

fn segment_node(doc: &Value) -> Node {
    let name = doc["name"].as_str().unwrap_or("").to_owned();
    let kind = doc["origin"].as_str().unwrap_or("service").to_owned();
    (name, kind)
}

// ---- the collector's awsxray translation, from OTLP/JSON ----

const SPAN_KIND_SERVER: i64 = 2;
const SPAN_KIND_CLIENT: i64 = 3;
const STATUS_CODE_ERROR: i64 = 2;

/// The documents the `awsxray` exporter makes from one OTLP/JSON export
/// request, annotating `indexed` attributes.
pub fn awsxray_documents(request: &Value, indexed: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for rs in request["resourceSpans"].as_array().into_iter().flatten() {
        let resource = attributes(&rs["resource"]["attributes"]);
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for span in ss["spans"].as_array().into_iter().flatten() {
                out.push(segment(span, &resource, indexed));
            }
        }
    }
    out
}

/// OTLP/JSON attributes as a map of plain JSON values.
pub fn attributes(list: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for kv in list.as_array().into_iter().flatten() {
        let v = &kv["value"];
        let value = if let Some(s) = v.get("stringValue") {
            s.clone()
        } else if let Some(i) = v.get("intValue") {
            // OTLP/JSON writes 64-bit integers as strings.
            i.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .map(Value::from)
                .unwrap_or_else(|| i.clone())
        } else if let Some(b) = v.get("boolValue") {
            b.clone()
        } else if let Some(d) = v.get("doubleValue") {
            d.clone()
        } else {
            v.clone()
        };
        out.insert(kv["key"].as_str().unwrap_or("").to_owned(), value);
    }
    out
}

fn segment(span: &Value, resource: &Map<String, Value>, indexed: &[&str]) -> Value {
    let attrs = attributes(&span["attributes"]);
    let kind = span["kind"].as_i64().unwrap_or(0);
    let parent = span["parentSpanId"].as_str().unwrap_or("");
    let get = |k: &str| attrs.get(k).and_then(Value::as_str);
    // segment.go: a span that is not SERVER and has a parent is a subsegment.
    let subsegment = kind != SPAN_KIND_SERVER && !parent.is_empty();
    let aws_sdk = get("rpc.system") == Some("aws-api");
    // segment.go: peer.service, aws.service, db.name, service.name (SERVER
    // only), rpc.service, http.host, net.peer.name, then the span's name.
    let name = get("peer.service")
        .or_else(|| get("aws.service"))
        .or_else(|| get("db.name"))
        .or_else(|| {
            (kind == SPAN_KIND_SERVER)
                .then(|| resource.get("service.name").and_then(Value::as_str))
                .flatten()
        })
        .or_else(|| get("rpc.service"))
        .or_else(|| get("http.host"))
        .or_else(|| get("net.peer.name"))
        .unwrap_or_else(|| span["name"].as_str().unwrap_or("span"));
    // segment.go: `aws` for the AWS SDK's spans, `remote` for other CLIENT spans.
    let namespace = if aws_sdk {
        "aws"
    } else if kind == SPAN_KIND_CLIENT {
        "remote"
    } else {
        ""
    };
    let (error, fault, throttle, cause) = cause(span, &attrs);
    let mut doc = json!({
        "id": span["spanId"],
        // convertToAmazonTraceID: X-Ray's `1-` form.
        "trace_id": span["traceId"].as_str().map(|t| format!("1-{}-{}", &t[..8], &t[8..])),
        "name": name,
        "error": error,
        "fault": fault,
        "throttle": throttle,
    });
    let o = doc.as_object_mut().unwrap();
    if !parent.is_empty() {
        o.insert("parent_id".into(), parent.into());
    }
    if subsegment {
        o.insert("type".into(), "subsegment".into());
    }
    if !namespace.is_empty() {
        o.insert("namespace".into(), namespace.into());
    }
    if let Some(origin) = origin(resource) {
        o.insert("origin".into(), origin.into());
    }
    if let Some(cause) = cause {
        o.insert("cause".into(), cause);
    }
    // makeSpanLinks: each link's trace (X-Ray's form), span and attributes.
    let links: Vec<Value> = span["links"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|link| {
            let mut out = json!({
                "trace_id": link["traceId"].as_str().map(|t| format!("1-{}-{}", &t[..8], &t[8..])),
                "id": link["spanId"],
            });
            let attributes = attributes(&link["attributes"]);
            if !attributes.is_empty() {
                out["attributes"] = Value::Object(attributes);
            }
            out
        })
        .collect();
    if !links.is_empty() {
        o.insert("links".into(), Value::Array(links));
    }
    if let Some(id) = get("aws.request_id") {
        o.insert("aws".into(), json!({ "request_id": id }));
    }
    // makeXRayAttributes: indexed keys become annotations, each character
    // other than a letter or digit (and `.`, under `exporter.xray.allowDot`)
    // written as `_`.
    let annotations: Map<String, Value> = indexed
        .iter()
        .filter_map(|k| attrs.get(*k).map(|v| (fix_annotation_key(k), v.clone())))
        .collect();
    if !annotations.is_empty() {
        o.insert("annotations".into(), Value::Object(annotations));
    }
    doc
}

/// cause.go: `exception` events make the `cause`; else a status Error's
/// message does. The HTTP status code decides the flags: 4xx is `error`
/// (429 also `throttle`), 5xx is `fault`, and without one, status Error is
/// `fault`.
fn cause(span: &Value, attrs: &Map<String, Value>) -> (bool, bool, bool, Option<Value>) {
    let status_error = span["status"]["code"].as_i64() == Some(STATUS_CODE_ERROR);
    let exceptions: Vec<Value> = span["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == "exception")
        .map(|e| {
            let a = attributes(&e["attributes"]);
            json!({
                "type": a.get("exception.type").cloned().unwrap_or_default(),
                "message": a.get("exception.message").cloned().unwrap_or_default(),
            })
        })
        .collect();
    let cause = if !exceptions.is_empty() {
        Some(json!({ "exceptions": exceptions }))
    } else if status_error {
        span["status"]["message"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(|m| json!({ "exceptions": [{ "message": m }] }))
    } else {
        None
    };
    let code = attrs
        .get("http.status_code")
        .or_else(|| attrs.get("http.response.status_code"))
        .and_then(Value::as_i64);
    let (error, fault, throttle) = match code {
        Some(c @ 400..=499) => (true, false, c == 429),
        Some(500..=599) => (false, true, false),
        _ => (false, status_error, false),
    };
    (error, fault, throttle, cause)
}

/// segment.go's `determineAwsOrigin`: only EC2, ECS, EKS, Beanstalk and App
/// Runner have an origin; `aws_lambda` has none.
fn origin(resource: &Map<String, Value>) -> Option<&'static str> {
    if resource.get("cloud.provider").and_then(Value::as_str) != Some("aws") {
        return None;
    }
    match resource.get("cloud.platform").and_then(Value::as_str)? {
        "aws_ec2" => Some("AWS::EC2::Instance"),
        "aws_ecs" => Some("AWS::ECS::Container"),
        "aws_eks" => Some("AWS::EKS::Container"),
        "aws_elastic_beanstalk" => Some("AWS::ElasticBeanstalk::Environment"),
        "aws_app_runner" => Some("AWS::AppRunner::Service"),
        _ => None,
    }
}

fn fix_annotation_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
