//! `ws-conversation`: the `$default` Lambda function (`auth`, `message`,
//! `ping`).

use perfmon_chat::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon_chat::aws::run_lambda(&[Route::Default]).await
}
