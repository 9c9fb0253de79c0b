//! [`Propagators`] (`OTEL_PROPAGATORS`): the trace-context formats perfmon
//! reads from incoming invocations and the global propagator writes.

use std::str::FromStr;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_aws::trace::XrayPropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// Which propagators are on. The default is all three (`xray`,
/// `tracecontext`, `baggage`): on Lambda the X-Ray header is the one Lambda
/// gives every invocation, and W3C headers are what other OTel services
/// send. `none` turns them all off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagators {
    /// `xray`: `X-Amzn-Trace-Id`.
    pub xray: bool,
    /// `tracecontext`: W3C `traceparent` and `tracestate`.
    pub tracecontext: bool,
    /// `baggage`: W3C `baggage`.
    pub baggage: bool,
}

impl Default for Propagators {
    fn default() -> Self {
        Propagators {
            xray: true,
            tracecontext: true,
            baggage: true,
        }
    }
}

impl FromStr for Propagators {
    type Err = String;

    /// A comma-separated list of `xray`, `tracecontext`, `baggage`, or
    /// `none`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut on = Propagators {
            xray: false,
            tracecontext: false,
            baggage: false,
        };
        for name in s.split(',').map(str::trim) {
            match name {
                "xray" => on.xray = true,
                "tracecontext" => on.tracecontext = true,
                "baggage" => on.baggage = true,
                "none" => {}
                _ => {
                    return Err(
                        "a comma-separated list of xray, tracecontext, baggage, or none".to_owned(),
                    )
                }
            }
        }
        Ok(on)
    }
}

impl Propagators {
    /// The propagators that are on, as one; injecting writes every format,
    /// extracting reads them in the order `tracecontext`, `xray`, `baggage`,
    /// so an X-Ray header wins over a W3C one.
    pub fn composite(&self) -> TextMapCompositePropagator {
        let mut all: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
        if self.tracecontext {
            all.push(Box::new(TraceContextPropagator::new()));
        }
        if self.xray {
            all.push(Box::new(XrayPropagator::default()));
        }
        if self.baggage {
            all.push(Box::new(BaggagePropagator::new()));
        }
        TextMapCompositePropagator::new(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_unknown_names_are_refused() {
        assert_eq!(
            "xray,tracecontext,baggage".parse(),
            Ok(Propagators::default())
        );
        let w3c: Propagators = "tracecontext, baggage".parse().unwrap();
        assert!(!w3c.xray && w3c.tracecontext && w3c.baggage);
        let none: Propagators = "none".parse().unwrap();
        assert!(!none.xray && !none.tracecontext && !none.baggage);
        assert!("b3".parse::<Propagators>().is_err());
    }
}
