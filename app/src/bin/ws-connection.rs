//! `ws-connection`: the `$connect` and `$disconnect` Lambda function.

use perfmon_chat::Route;

/// `MemoryUsage` is the live heap this counts, as in `ws-conversation`
/// (which says why).
#[global_allocator]
static ALLOC: perfmon_lambda::CountingAllocator = perfmon_lambda::CountingAllocator::system();

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon_chat::aws::run_lambda(&[Route::Connect, Route::Disconnect]).await
}
