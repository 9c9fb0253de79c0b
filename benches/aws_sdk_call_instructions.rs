//! Instructions per AWS SDK call, counted by callgrind rather than timed:
//! `bash scripts/aws_sdk_instructions.sh` runs this binary under
//! `valgrind --tool=callgrind` with 0 and with N more calls after the same
//! warm-up, for each way of `aws_sdk_call.rs` (`sdk`, `bare_span`,
//! `sampled_in`, `sampled_out`), and divides the difference. Counts are repeatable on a
//! busy machine; time is not.
//!
//! Arguments: `[calls] [way]`.

#[path = "support/discard.rs"]
mod discard;
#[path = "support/aws_sdk_call.rs"]
mod sdk_call;

use std::time::Duration;

use perfmon_lambda::aws_sdk::TracingInterceptor;

/// Calls made before the counted ones, in both runs.
const WARM_UP: usize = 200;

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args
        .next()
        .map_or(1000, |n| n.parse().expect("a number of calls"));
    let way = args.next().unwrap_or_else(|| "sampled_in".to_owned());
    let telemetry = discard::pipeline();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, parent) = match way.as_str() {
        "sdk" => (sdk_call::client(None), sdk_call::parent(true)),
        "sampled_in" => (
            sdk_call::client(Some(TracingInterceptor::new(&telemetry))),
            sdk_call::parent(true),
        ),
        "sampled_out" => (
            sdk_call::client(Some(TracingInterceptor::new(&telemetry))),
            sdk_call::parent(false),
        ),
        "bare_span" => (
            sdk_call::client_with(Some(sdk_call::BareSpan(telemetry.tracer()))),
            sdk_call::parent(true),
        ),
        other => panic!("{other}: sdk, bare_span, sampled_in or sampled_out"),
    };
    for _ in 0..WARM_UP + calls {
        sdk_call::call(&runtime, &client, &parent);
    }
    let _ = telemetry.shutdown(Duration::from_secs(5));
}
