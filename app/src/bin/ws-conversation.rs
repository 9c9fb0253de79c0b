//! `ws-conversation`: the `$default` Lambda function (`auth`, `message`,
//! `ping`).

use perfmon_chat::Route;

/// `MemoryUsage` is the live heap this counts. The resident set of a
/// warm `ws-conversation` is about 22 MiB, mostly code and the runtime's
/// own pages: above `authentication_jwt_verification`'s 20 MiB threshold,
/// it would breach on every invocation and keep that alarm firing.
#[global_allocator]
static ALLOC: perfmon_lambda::CountingAllocator = perfmon_lambda::CountingAllocator::system();

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon_chat::aws::run_lambda(&[Route::Default]).await
}
