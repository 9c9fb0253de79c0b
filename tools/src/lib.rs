//! # perfmon-tools
//!
//! What runs at design time or in CI for a [perfmon](perfmon_lambda)
//! catalog, never inside a function:
//!
//! - [`dashboards`]: the CloudWatch dashboards, the alarms in
//!   `PutMetricAlarm` shape, the CloudFormation template holding them, and
//!   the ADOT collector configuration, all generated from one catalog;
//! - [`preview`]: a local metric store filled from a run's EMF lines, a
//!   query engine with CloudWatch's semantics, alarm evaluation, and (with
//!   the `preview` feature) the dashboards drawn for a run;
//! - the `perfmon` command (feature `cli`): `catalog check`,
//!   `dashboards generate|check|preview`, `collector generate`.
//!
//! It reads the runtime crate's [`Catalog`](perfmon_lambda::Catalog); the
//! runtime crate never depends on it.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cli` | yes | the `perfmon` command (clap); implies `preview` |
//! | `preview` | yes (with `cli`) | `preview::render`: dashboards and alarm timelines for a run, as SVG in one HTML page |

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod dashboards;
pub mod preview;
