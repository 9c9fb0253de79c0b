//! `ws-conversation`: the `$default` Lambda function (`auth`, `message`,
//! `ping`).

use perfmon::app::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon::app::aws::run_lambda(&[Route::Default]).await
}
